--- Boot a microVM in this process and run commands in it through banger's
--- guest agent. This is the primitive under the `vm_*` recipes (which run each
--- VM under its own supervisor, see banger.vm); use it directly in
--- scripts, tests and the REPL.
---
---   local k = kernel.resolve({ name = "debian-cloud", dir = kdir })
---   local h = vm.start({ name = "try", kernel = k.kernel, initrd = initrd,
---                        rootfs = img .. "/rootfs.ext4", state_dir = "/tmp/try" })
---   local r = vm.exec(h, { "cat", "/etc/os-release" })   -- or h:exec({ argv = {...} })
---   print(r.exit_code, r.stdout)
---   h:stop()
---
--- The disk is a qcow2 overlay over `rootfs` (made in `state_dir` unless
--- `overlay` names one), so starting costs the same for any image size. The
--- accelerator is KVM where it can run a stock kernel (kvm_intel / kvm_amd
--- behind a usable /dev/kvm), TCG otherwise; `accel` or BANGER_ACCEL=kvm|tcg
--- force one; `h:info().accel_reason` says why.
local errors = require("banger.errors")

local M = {}

---@class banger.vmm.PortForward
---@field host_port integer
---@field guest_port integer
---@field proto? string "tcp" (default) | "udp"
---@field host_addr? string default "127.0.0.1"

---@class banger.vmm.HostPort
---@field port integer
---@field proto? string "tcp" (default) | "udp"

---@class banger.vmm.Net
---@field mode? string "user" (default: banger's user networking, guest 10.0.2.15, no host loopback) | "tap" | "none"
---@field forwards? banger.vmm.PortForward[] host -> guest ports (tap: TCP, relayed to the guest's address)
---@field allow_host? banger.vmm.HostPort[] host ports the guest may reach (user mode: TCP only, the host's 127.0.0.1:PORT at 10.0.2.4:PORT; tap mode: the caller opens the firewall)
---@field tap? string tap mode: an existing tap device
---@field mac? string tap mode: the guest's MAC address
---@field address? string tap mode: the guest's address, "10.77.0.5/24"
---@field gateway? string tap mode
---@field dns? string tap mode: "10.77.0.1" or "a,b"

---@class banger.vmm.Spec
---@field name string 1-63 of letters, digits, '-', '_', '.'; the guest's hostname
---@field kernel string a bzImage
---@field initrd string banger's initramfs (agent as /init + modules), see kernel.build_initramfs
---@field rootfs string the image's ext4 file (read-only backing of the overlay)
---@field state_dir string console.log, qemu.log and the disk overlay go here
---@field overlay? string the VM's qcow2 disk; default STATE_DIR/disk.qcow2, made when missing
---@field cmdline? string appended to the kernel command line
---@field init? string boot this init from the image (e.g. /lib/systemd/systemd; the agent runs as its service); default: the agent is PID 1
---@field cpus? integer default 1
---@field memory_mib? integer default 512
---@field net? banger.vmm.Net
---@field accel? string "auto" (default) | "kvm" | "tcg"
---@field ready_timeout_ms? integer how long to wait for the agent; default 60000
---@field qemu? string the QEMU binary; default "qemu-system-x86_64"
---@field mounts? banger.vmm.Mount[] host directories shared live (virtiofs; needs root); at most 8. Each needs a virtiofsd on STATE_DIR/fsN.sock, which the VM's supervisor starts (banger.vm)

---@class banger.vmm.Mount
---@field host string an existing host directory (absolute)
---@field guest string where the guest sees it: an absolute directory, not a system one (/etc, /usr, ...)
---@field read_only? boolean the guest cannot write (default false)

---@class banger.vmm.ExecRequest
---@field argv string[] the command; argv[1] is looked up on the guest's PATH
---@field env? string[] "NAME=VALUE" added to the default environment
---@field cwd? string default: the user's home
---@field user? string a name or "UID[:GID]"; default root
---@field tty? boolean run on a pseudo-terminal

---@class banger.vmm.ExecResult
---@field exit_code integer 127: command not found; 128+N: killed by signal N
---@field signal integer the killing signal, 0 if it exited
---@field stdout? string captured (exec only)
---@field stderr? string captured (exec only)
---@field guest_us integer the command's run time measured in the guest

---@class banger.vmm.StreamOpts
---@field stdout? fun(data: string) default: written to banger's stdout
---@field stderr? fun(data: string) default: written to banger's stderr
---@field stdin? boolean copy banger's stdin to the command (default: /dev/null)

---@class banger.vmm.Handle
---@field exec fun(self: banger.vmm.Handle, req: banger.vmm.ExecRequest): banger.vmm.ExecResult
---@field exec_stream fun(self: banger.vmm.Handle, req: banger.vmm.ExecRequest, opts?: banger.vmm.StreamOpts): banger.vmm.ExecResult
---@field info fun(self: banger.vmm.Handle): table name, qemu_pid, running, accel, accel_reason, agent, capabilities, boot = {kernel_to_init_ms, init_to_ready_ms, guest_uptime_ms, host_ready_ms}, console_log, ...
---@field running fun(self: banger.vmm.Handle): boolean
---@field stop fun(self: banger.vmm.Handle, timeout_s?: integer): integer poweroff via the agent, then SIGTERM, then SIGKILL; QEMU's exit status
---@field wait fun(self: banger.vmm.Handle, timeout_s?: integer): integer|nil QEMU's exit status, nil on timeout
---@field close fun(self: banger.vmm.Handle) kills the VM if it still runs

local function check_string(fn, key, v, optional)
  if v == nil and optional then return end
  if type(v) ~= "string" or v == "" then
    errors.raise("invalid_input", ("vm.%s: %s must be a non-empty string"):format(fn, key))
  end
end

--- Starts a VM and waits until its agent is ready. Errors name the VM and
--- end with the last console lines (kernel panic, missing agent, ...); no
--- process is left running after an error.
---@param spec banger.vmm.Spec
---@return banger.vmm.Handle
function M.start(spec)
  -- The spec is checked once, by the host (host/vm/spec_json, vm::check_spec).
  return _host.vmm.start(spec)
end

--- Makes VM `name`'s disk in `state_dir`: a qcow2 overlay over the image's
--- `rootfs` (the same cost for any image size), where vm.start looks for it
--- (it makes one itself when it is missing).
---@param rootfs string
---@param state_dir string
---@param name string the VM, for the error
---@param size? integer bytes, at least the image's (the agent grows the filesystem to fill it); default: the image's size
---@param backing_format? string "raw" (an image, the default) or "qcow2" (a snapshot's frozen disk)
---@return string overlay the disk's path
function M.create_overlay(rootfs, state_dir, name, size, backing_format)
  check_string("create_overlay", "rootfs", rootfs)
  check_string("create_overlay", "state_dir", state_dir)
  check_string("create_overlay", "name", name)
  return _host.vmm.create_overlay(rootfs, state_dir, name, size, backing_format)
end

--- Turns `{"cmd", "arg"}` or `{argv = {...}, env = ...}` into an exec request.
---@param cmd string[]|banger.vmm.ExecRequest
---@return banger.vmm.ExecRequest
function M.request(cmd)
  if type(cmd) == "string" then return { argv = { "/bin/sh", "-c", cmd } } end
  if type(cmd) ~= "table" then
    errors.raise("invalid_input", "vm: a command is a list of strings or {argv = {...}, ...}")
  end
  if cmd.argv then return cmd end
  return { argv = cmd }
end

--- Runs a command to completion and captures stdout and stderr.
--- A string runs through /bin/sh -c.
---@param h banger.vmm.Handle
---@param cmd string|string[]|banger.vmm.ExecRequest
---@return banger.vmm.ExecResult
function M.exec(h, cmd)
  return h:exec(M.request(cmd))
end

--- Runs a command, streaming its output (to banger's stdout/stderr by
--- default, or to callbacks); returns its exit status.
---@param h banger.vmm.Handle
---@param cmd string|string[]|banger.vmm.ExecRequest
---@param opts? banger.vmm.StreamOpts
---@return banger.vmm.ExecResult
function M.exec_stream(h, cmd, opts)
  return h:exec_stream(M.request(cmd), opts)
end

return M
