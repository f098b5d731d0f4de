--- VMs as users see them: named sandboxes recorded in the state index, each
--- running under its own supervisor process while it is up.
---
--- A VM record: {name, image, kernel, cpus, memory_mib, net, forwards, state,
--- dir, address, ip, supervisor_pid, qemu_pid, created}. States: created,
--- starting, running, paused, stopping, stopped.
---
--- A paused VM whose supervisor dies cannot be resumed (the supervisor held
--- its agent channel and QMP connection): reconcile kills its QEMU, marks it
--- stopped with `lost_pause` set (its memory is gone, its disk is kept), and
--- says so in a warning; `vm ls` shows it as "stopped (pause lost)" until it
--- is started again.
local errors = require("banger.errors")
local store = require("banger.store")
local fs = require("banger.fs")
local core = _host.core

local M = {}

M.DEFAULT_IMAGE = "debian-bookworm"
M.DEFAULT_KERNEL = "debian-cloud"
-- Resource bounds, checked when a VM is created or changed (the params'
-- min/max): below 128 MiB the kernel and agent do not come up.
M.MEMORY_MIN, M.MEMORY_MAX, M.MEMORY_DEFAULT = 128 * 1024 ^ 2, 1024 ^ 4, 1024 ^ 3
M.CPUS_MAX = 64
-- Address pool (host part of the tap subnet) reserved per VM; see net.pool().
M.ADDRESS_FIRST, M.ADDRESS_LAST = 2, 254
do
  local ok, pool = pcall(_host.net.pool)
  if ok then M.ADDRESS_FIRST, M.ADDRESS_LAST = pool.first, pool.last end
end

--- Checks a VM name: lowercase letters, digits and '-', at most 40 (it
--- becomes a hostname and NAME.vm). The rule is host/core/vm_name.h's, the
--- one the VM layer checks too.
---@param name string
function M.check_name(name)
  core.check_vm_name(name)
end

--- A fresh name: IMAGE-XXXX.
---@param image string
---@return string
function M.generate_name(image)
  -- Seeded per process: LuaJIT starts every process on the same sequence,
  -- which would make parallel `vm run`s race for one name.
  math.randomseed(core.getpid() * 1000003 + math.floor(core.monotonic_ms()))
  local base = image:gsub("[^a-z0-9-]", "-"):sub(1, 30)
  for _ = 1, 20 do
    local name = ("%s-%04x"):format(base, math.random(0, 0xffff))
    if not store.get("vm", name) then return name end
  end
  errors.raise("conflict", "could not find a free VM name", "give one with --name")
end

---@param name string
---@return table|nil
function M.get(name) return store.get("vm", name) end

--- The VM's record or a not_found error with a hint.
---@param name string
---@return table
function M.require(name)
  local rec = M.get(name)
  if not rec then
    errors.raise("not_found", ("no VM named '%s'"):format(name), "list VMs with 'banger vm ls'")
  end
  return rec
end

--- True while the VM's record says it is up and its supervisor is alive.
---@param rec table|nil a VM record
---@return boolean
function M.is_up(rec)
  return rec ~= nil and (rec.state == "running" or rec.state == "starting" or rec.state == "paused")
    and rec.supervisor_pid ~= nil
    and _host.supervisor.alive(rec.supervisor_pid, rec.name)
end

--- Marks VMs whose supervisor died as stopped and frees what they held.
--- Every command runs this first; it only touches banger's own resources.
function M.reconcile()
  local running = {}
  for _, rec in ipairs(store.list("vm")) do
    if M.is_live_state(rec.state) then
      if rec.supervisor_pid and _host.supervisor.alive(rec.supervisor_pid, rec.name) then
        running[#running + 1] = rec.name
      else
        core.log("info", ("VM '%s': supervisor gone, reconciling"):format(rec.name))
        if rec.state == "paused" then
          core.log("warn", ("VM '%s' was paused when its supervisor died: its memory is lost, its disk is kept; " ..
            "'banger vm start %s' boots it again"):format(rec.name, rec.name))
          rec.lost_pause = true
        end
        -- A VMM that outlived its supervisor is killed: its pid is checked
        -- against the VM's state dir so a recycled pid is never touched.
        if rec.qemu_pid then _host.supervisor.kill_vmm(rec.qemu_pid, rec.dir) end
        fs.remove(rec.dir .. "/control.sock")
        fs.remove(rec.dir .. "/qmp.sock")
        -- The guest RAM of a VMM that is gone (host/vm/qemu_command.h's memory_file_path).
        fs.remove(rec.dir .. "/memory")
        rec.state, rec.supervisor_pid, rec.qemu_pid = "stopped", nil, nil
        store.update("vm", rec.name, rec)
      end
    end
  end
  pcall(_host.net.reconcile, running)
  -- Staging that killed pulls left behind (cheap when there is none).
  pcall(store.reclaim_staging)
  return running
end

--- True for the states in which a VM has a supervisor (or should have one).
---@param state string|nil
---@return boolean
function M.is_live_state(state)
  return state == "running" or state == "starting" or state == "paused" or state == "stopping"
end

--- The lock of VM `name`, held by whoever starts, stops or removes it, so
--- that two of those never interleave (a second `vm start` waits, then finds
--- the VM running). Waits while another process holds it.
---@param name string
---@return {release:function}
function M.lock(name)
  return store.lock(M.lock_path(name), ("VM '%s'"):format(name))
end

--- vms/.NAME.lock: beside the VM directories (a VM name never starts with
--- a dot), outside the directory that `vm rm` deletes.
---@param name string
---@return string
function M.lock_path(name) return store.paths().vms .. "/." .. name .. ".lock" end

--- Stops a VM and returns only once its supervisor has exited and its record
--- says stopped; an error otherwise. `now`: no clean guest shutdown (its disk
--- is about to go). A VM that is not running is left as it is.
---@param name string
---@param timeout_s integer
---@param now? boolean
---@return table the VM's record
function M.stop(name, timeout_s, now)
  M.reconcile()
  local rec = M.require(name)
  if rec.state == "running" or rec.state == "starting" or rec.state == "paused" then
    -- (A paused VM is resumed by its supervisor before the power-off.)
    local ok, c = pcall(_host.supervisor.connect, rec.dir .. "/control.sock", name)
    if ok then
      c:stop(timeout_s, now)
      c:close()
    elseif rec.supervisor_pid then
      -- Still booting (its starter died) or not answering: SIGTERM makes it
      -- stop and clean up like a stop request.
      _host.supervisor.terminate(rec.supervisor_pid, name)
    end
  end
  if rec.supervisor_pid and not _host.supervisor.wait_exit(rec.supervisor_pid, name, timeout_s) then
    errors.raise("io", ("VM '%s' did not stop within %d s (supervisor pid %d)"):format(name, timeout_s, rec.supervisor_pid),
      ("see %s/supervisor.log; 'banger vm rm --force %s' kills it"):format(rec.dir, name))
  end
  M.reconcile()
  rec = M.require(name)
  if rec.state ~= "stopped" and rec.state ~= "created" then
    errors.raise("internal", ("VM '%s' is still %s after its supervisor exited"):format(name, tostring(rec.state)),
      ("see %s/supervisor.log"):format(rec.dir))
  end
  return rec
end

--- Checks that a VM recorded as running answers on its control socket.
---@param name string
---@return table the supervisor's info
function M.verify_running(name)
  local c = M.connect(name)
  local ok, info = pcall(c.info, c)
  c:close()
  if not ok then error(info, 0) end
  return info
end

---@return table[] records sorted by name (reconciled first)
function M.list()
  M.reconcile()
  return store.list("vm")
end

---@class banger.vm.ExecOpts: banger.vmm.ExecRequest
---@field stdin? boolean copy banger's stdin to the command (default: /dev/null)
---@field capture? boolean return stdout and stderr as strings (at most 16 MiB each) instead of writing them to banger's
---@field stdout_to_stderr? boolean the command's stdout on banger's stderr (keeps stdout for --json)
---@field forward_signals? boolean Ctrl-C, SIGTERM and SIGHUP go to the command (default: true)

---@class banger.vm.Client a connection to a VM's supervisor (banger.vm.connect)
---@field exec fun(self: banger.vm.Client, opts: banger.vm.ExecOpts): banger.vmm.ExecResult runs a command to its end; `stdout`/`stderr` are set with `capture = true`
---@field put fun(self: banger.vm.Client, local_path: string, guest_path: string, mode?: integer, uid?: integer, gid?: integer) copies a host file into the guest (mode default 0644, owner root)
---@field get fun(self: banger.vm.Client, guest_path: string, local_path: string): integer copies a guest file out (published whole, O_EXCL, rwx bits under the umask); returns its mode
---@field copy_in fun(self: banger.vm.Client, local_path: string, guest_path: string) files or directories in, docker cp's rules; "-" reads a tar stream from stdin
---@field copy_out fun(self: banger.vm.Client, guest_path: string, local_path: string) files or directories out, docker cp's rules; "-" writes a tar stream to stdout
---@field ports fun(self: banger.vm.Client): {proto: string, address: string, port: integer}[] the guest's listening sockets
---@field stats fun(self: banger.vm.Client): table mem_total_kib, mem_available_kib, cpu_user_ms, cpu_system_ms, cpu_idle_ms, load1, processes
---@field info fun(self: banger.vm.Client): table the supervisor's view of the VM (status_to_json)
---@field control fun(self: banger.vm.Client, request: table, timeout_s?: integer): table a VMM operation, see banger.vm.control
---@field stop fun(self: banger.vm.Client, timeout_s?: integer, now?: boolean) stops the VM (agent poweroff, then signals)
---@field close fun(self: banger.vm.Client) ends the connection (the VM keeps running)

--- A connection to a running VM's supervisor: `vm.connect(name):exec{argv = {...}, capture = true}`.
---@param name string
---@return banger.vm.Client
function M.connect(name)
  local rec = M.require(name)
  if rec.state ~= "running" then
    M.reconcile()
    rec = M.require(name)
  end
  if rec.state == "paused" then
    errors.raise("conflict", ("VM '%s' is paused"):format(name), ("resume it with 'banger vm resume %s'"):format(name))
  end
  if rec.state ~= "running" then
    errors.raise("conflict", ("VM '%s' is not running (state: %s)"):format(name, tostring(rec.state)),
      ("start it with 'banger vm start %s'"):format(name))
  end
  return _host.supervisor.connect(rec.dir .. "/control.sock", name)
end

--- Sends a VMM operation (host/supervisor/control.h's kControl) to the
--- supervisor of a running or paused VM and returns its result.
---@param name string
---@param request table {op="pause"|"resume"|"snapshot"|"egress", ...}
---@return table
function M.control(name, request)
  M.reconcile()
  local rec = M.require(name)
  if rec.state ~= "running" and rec.state ~= "paused" then
    errors.raise("conflict", ("VM '%s' is not running (state: %s)"):format(name, tostring(rec.state)),
      ("start it with 'banger vm start %s'"):format(name))
  end
  local c = _host.supervisor.connect(rec.dir .. "/control.sock", name)
  local ok, result = pcall(c.control, c, request)
  c:close()
  if not ok then error(result, 0) end
  return result
end

--- Pauses a running VM: QEMU stops its CPUs, the guest keeps its memory and
--- uses no CPU until resumed. Pausing a paused VM does nothing.
---@param name string
---@return {paused:boolean, already:boolean, ms:number} ms: how long QEMU took
function M.pause(name) return M.control(name, { op = "pause" }) end

--- Resumes a paused VM; resuming a running VM does nothing.
---@param name string
---@return {paused:boolean, already:boolean, ms:number}
function M.resume(name) return M.control(name, { op = "resume" }) end

--- A fresh snapshot name: BASE-snap-XXXX.
---@param base string
---@return string
function M.generate_snapshot_name(base)
  math.randomseed(core.getpid() * 1000003 + math.floor(core.monotonic_ms()))
  for _ = 1, 20 do
    local name = ("%s-snap-%04x"):format(base:sub(1, 30), math.random(0, 0xffff))
    if not store.get("snapshot", name) then return name end
  end
  errors.raise("conflict", "could not find a free snapshot name", "give one with --name")
end

--- Saves VM `name` (running or paused) as snapshot `snap_name` (default
--- NAME-snap-XXXX): memory, device state and disk. A running VM is paused
--- only for the save (the result's paused_ms) and runs on.
---@param name string
---@param snap_name? string
---@return table the snapshot's record (see banger.snapshot)
function M.snapshot(name, snap_name)
  return require("banger.snapshot").take(name, snap_name or M.generate_snapshot_name(name))
end

--- Makes `count` new VMs from snapshot `snap_name` and starts each by
--- restoring it: each has its own disk overlay on the snapshot's frozen
--- disk, name, address, MAC, hostname, clock and RNG seed. All or nothing:
--- when one fails, the ones made are removed and the error is raised.
---@param snap_name string
---@param count integer
---@param ctx? table the calling recipe's ctx
---@return table[] what each VM's start reported ({name, ...})
function M.restore(snap_name, count, ctx)
  local recipe = require("banger.recipe")
  local snap = require("banger.snapshot").require(snap_name)
  local made, infos = {}, {}
  local ok, err = pcall(function()
    -- All their VMMs restore at once: each start is spawned, then each waited for.
    local starting = {}
    local _, first_err = pcall(function()
      for _ = 1, count do
        local vm = recipe.load("vm_create"):call({ from = snap.name, name = M.generate_name(snap.vm) }, ctx)
        made[#made + 1] = vm.name
        starting[#starting + 1] = recipe.load("vm_start"):call({ name = vm.name, detach = true }, ctx)
      end
    end)
    for _, s in ipairs(starting) do
      -- Every one spawned is waited for (its lock released), also after a failure.
      local wok, info = pcall(s.wait)
      if wok then infos[#infos + 1] = info elseif not first_err then first_err = info end
    end
    if first_err then error(first_err, 0) end
  end)
  if not ok then
    for _, name in ipairs(made) do pcall(recipe.load("vm_rm").call, recipe.load("vm_rm"), { names = { name }, force = true }, ctx) end
    error(err, 0)
  end
  return infos
end

--- Forks running VM `name` into `count` new running VMs: a snapshot (kept:
--- the forks' disks sit on it), then `count` restores of it.
---@param name string
---@param count integer
---@param ctx? table
---@return table[] infos, table snapshot
function M.fork(name, count, ctx)
  local snap = M.snapshot(name)
  local ok, infos = pcall(M.restore, snap.name, count, ctx)
  if not ok then
    pcall(require("banger.snapshot").remove, snap.name)
    error(infos, 0)
  end
  return infos, snap
end

--- Starts a VM's supervisor (detached) from the spec file it wrote, and
--- waits until the VM's agent is ready or the supervisor gave up.
---@param spec_path string
---@param log_path string the supervisor's own log
---@param timeout_s integer
---@return table info what the supervisor reports of the running VM
function M.spawn_supervisor(spec_path, log_path, timeout_s)
  return _host.supervisor.spawn(spec_path, log_path, timeout_s)
end

--- The same in two steps: spawns the supervisor and returns at once; the
--- handle's `wait(timeout_s)` is spawn_supervisor's wait.
---@param spec_path string
---@param log_path string
---@return {wait: fun(self, timeout_s: integer): table}
function M.launch_supervisor(spec_path, log_path)
  return _host.supervisor.launch(spec_path, log_path)
end

local FORWARD_HINT = "use -p HOST_PORT:GUEST_PORT (bound to 127.0.0.1), or -p ADDR:HOST_PORT:GUEST_PORT " ..
  "to bind another host address (0.0.0.0: every interface), e.g. -p 8080:80"

-- True for a dotted IPv4 address (four numbers 0-255).
local function is_ipv4(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, part in ipairs({ a, b, c, d }) do
    if #part > 3 or tonumber(part) > 255 then return false end
  end
  return true
end

--- Parses "-p HOST:GUEST" / "ADDR:HOST:GUEST" / "HOST:GUEST/udp". The host
--- side binds ADDR, 127.0.0.1 unless given (0.0.0.0 exposes the port on
--- every interface of the host).
---@param spec string
---@return table {proto, host_addr, host_port, guest_port}
function M.parse_forward(spec)
  local body, proto = spec:match("^(.-)/(%a+)$")
  body, proto = body or spec, proto or "tcp"
  local addr, hp, gp = body:match("^([^:]+):(%d+):(%d+)$")
  if not addr then hp, gp = body:match("^(%d+):(%d+)$") end
  if not hp or (proto ~= "tcp" and proto ~= "udp") then
    errors.raise("invalid_input", ("invalid port forward '%s'"):format(spec), FORWARD_HINT)
  end
  if addr and not is_ipv4(addr) then
    errors.raise("invalid_input", ("invalid port forward '%s': '%s' is not an IPv4 address"):format(spec, addr),
      FORWARD_HINT)
  end
  hp, gp = tonumber(hp), tonumber(gp)
  if hp < 1 or hp > 65535 or gp < 1 or gp > 65535 then
    errors.raise("invalid_input", ("invalid port forward '%s': ports are 1-65535"):format(spec), FORWARD_HINT)
  end
  return { proto = proto, host_addr = addr or "127.0.0.1", host_port = hp, guest_port = gp }
end

--- Parses "--allow-host PORT" / "PORT/udp": a host port the guest may reach.
---@param spec string
---@return table {proto, port}
function M.parse_allow_host(spec)
  local port, proto = tostring(spec):match("^(%d+)/(%a+)$")
  if not port then port, proto = tostring(spec):match("^(%d+)$"), "tcp" end
  port = tonumber(port)
  if not port or port < 1 or port > 65535 or (proto ~= "tcp" and proto ~= "udp") then
    errors.raise("invalid_input", ("invalid host port '%s'"):format(tostring(spec)),
      "use --allow-host PORT or PORT/udp, e.g. --allow-host 5432")
  end
  return { proto = proto, port = port }
end

local MOUNT_HINT = "use --mount HOST:GUEST, or HOST:GUEST:ro for read-only, e.g. --mount ./src:/mnt/src"

--- The most live mounts a VM may have.
M.MOUNTS_MAX = _host.vmm.max_mounts

--- Parses "--mount HOST:GUEST[:ro]": host directory HOST shared live with
--- the guest at GUEST over virtiofs (read-only with `:ro`). A relative HOST
--- is taken from `base` (default: the current directory). Checks what
--- starting the VM would: HOST is an existing directory, GUEST an absolute
--- guest directory the system does not use, and banger can serve a mount
--- here (root, virtiofsd installed).
---@param spec string
---@param base? string the directory a relative HOST is in
---@return table {host, guest, read_only}
function M.parse_mount(spec, base)
  local parts = {}
  for part in (tostring(spec) .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = part end
  local read_only = parts[3] == "ro"
  if #parts < 2 or #parts > 3 or (#parts == 3 and not read_only) or parts[1] == "" or parts[2] == "" then
    errors.raise("invalid_input", ("invalid mount '%s': expected HOST:GUEST or HOST:GUEST:ro"):format(tostring(spec)),
      MOUNT_HINT)
  end
  local host, guest = parts[1], parts[2]
  if host:sub(1, 1) ~= "/" then host = (base or core.cwd()) .. "/" .. host end
  local ok, real = pcall(core.realpath, host)
  if ok and real then host = real end
  if #guest > 1 then guest = guest:gsub("/+$", "") end
  _host.vmm.check_mount(host, guest)
  return { host = host, guest = guest, read_only = read_only }
end

--- Parses a list of "--mount" texts (parse_mount each); more than
--- MOUNTS_MAX, or two at one guest path, is an error.
---@param specs string[]
---@param base? string
---@return table[]
function M.parse_mounts(specs, base)
  local out, seen = {}, {}
  if #specs > M.MOUNTS_MAX then
    errors.raise("invalid_input", ("%d mounts: a VM may have at most %d"):format(#specs, M.MOUNTS_MAX),
      "mount a common parent directory instead")
  end
  for _, text in ipairs(specs) do
    local m = M.parse_mount(text, base)
    if seen[m.guest] then
      errors.raise("invalid_input", ("two mounts at guest path %s"):format(m.guest), "give each mount its own guest directory")
    end
    seen[m.guest] = true
    out[#out + 1] = m
  end
  return out
end

--- Checks that mode `net` can serve these forwards and allowed host ports.
---@param net string
---@param forwards table[]
---@param allow_host table[]
function M.check_net_options(net, forwards, allow_host)
  if net == "none" and (#forwards > 0 or #allow_host > 0) then
    errors.raise("invalid_input", "--net none has no network: -p and --allow-host need --net user or tap")
  end
  for _, f in ipairs(forwards) do
    if net == "tap" and f.proto ~= "tcp" then
      errors.raise("invalid_input", ("-p %d:%d/%s: tap networking forwards TCP only"):format(f.host_port, f.guest_port, f.proto),
        "use --net user for UDP forwards, or reach the VM's address directly ('banger vm ls')")
    end
  end
  for _, h in ipairs(allow_host) do
    if net == "user" and h.proto ~= "tcp" then
      errors.raise("invalid_input", ("--allow-host %d/%s: user networking allows TCP host ports only"):format(h.port, h.proto),
        "use --net tap (needs root) to allow UDP")
    end
  end
end

--- Checks an --init PATH: the image's own init, booted instead of the agent.
---@param path string
function M.check_init(path)
  if not path:match("^/[%w%._/%-]+$") then
    errors.raise("invalid_input", ("--init '%s' is not an absolute path in the image"):format(path),
      "e.g. --init /lib/systemd/systemd")
  end
end

--- The network mode to use: `requested`, else tap when privileged, else user.
---@param requested? string
---@return string
function M.net_mode(requested)
  if requested and requested ~= "" and requested ~= "auto" then
    if requested ~= "user" and requested ~= "tap" and requested ~= "none" then
      errors.raise("invalid_input", ("unknown network mode '%s'"):format(requested), "use --net user or --net tap")
    end
    return requested
  end
  return _host.net.default_mode()
end

--- The image record for a VM, pulled through the image_pull recipe when it
--- is missing (auto-pull): a catalog name, or an image reference
--- (`debian:bookworm`, `host:5000/a/b:tag`, `oci:DIR`) pulled under its
--- default name, as `docker run` pulls what is not local.
---@param name string
---@param ctx? table the calling recipe's ctx
---@return table
function M.ensure_image(name, ctx)
  local image = require("banger.image")
  local rec = image.get(image.local_name(name))
  if rec then return rec end
  local progress = require("banger.progress")
  if image.catalog()[name] then
    progress.note(("image '%s' is missing: pulling it from the catalog"):format(name))
  elseif image.is_reference(name) then
    progress.note(("image '%s' is not here yet: pulling it"):format(name))
  else
    image.require(name)
  end
  return require("banger.recipe").load("image_pull"):call({ ref = name }, ctx)
end

--- The kernel record, pulled through the kernel_pull recipe when missing
--- and in the kernel catalog (auto-pull).
---@param name string
---@param ctx? table
---@return table
function M.ensure_kernel(name, ctx)
  local rec = store.get("kernel", name)
  if rec then return rec end
  local catalog = require("banger.kernel").catalog()
  if not catalog[name] then
    errors.raise("not_found", ("no kernel named '%s'"):format(name),
      "list kernels with 'banger kernel ls'; pull one with 'banger kernel pull debian-cloud'")
  end
  require("banger.progress").note(("kernel '%s' is missing: pulling it"):format(name))
  return require("banger.recipe").load("kernel_pull"):call({ name = name }, ctx)
end

--- What a VM boots with: the kernel's checked triple and banger's initramfs
--- (the agent as /init plus the modules), built once per kernel and agent.
---@param kernel_rec table
---@return {kernel:string, initrd:string, version:string}
function M.boot_files(kernel_rec)
  local agent = _host.agent.find()
  local st = core.stat(agent)
  local initrd = ("%s/banger-initrd-%d-%d.img"):format(kernel_rec.dir, st.size, st.mtime)
  if fs.exists(initrd) then
    -- Built (atomically) only after a full check of this kernel directory,
    -- which a pull replaces as a whole: re-checking every module on each
    -- start costs ~50 ms. The kernel image is still checked (cheap); when
    -- it is not right, the full check below names the problem.
    local ok, files = pcall(function()
      local manifest = _host.kernel.manifest(kernel_rec.dir)
      local kernel = kernel_rec.dir .. "/" .. manifest.kernel
      local version = _host.kernel.inspect(kernel).version
      return { kernel = kernel, initrd = initrd, version = version ~= "" and version or manifest.version }
    end)
    if ok then return files end
  end
  local triple = _host.kernel.resolve({ name = kernel_rec.name, dir = kernel_rec.dir })
  if not fs.exists(initrd) then
    _host.kernel.build_initramfs({ init = agent, modules_dir = triple.modules, version = triple.version, out = initrd })
  end
  return { kernel = triple.kernel, initrd = initrd, version = triple.version }
end

--- Rewrites $BANGER_HOME/ssh/config: a `Host NAME.vm` block per VM with an
--- address on the tap network.
function M.write_ssh_config()
  local hosts = {}
  for _, rec in ipairs(store.list("vm")) do
    if rec.net == "tap" and rec.ip then hosts[#hosts + 1] = { name = rec.name, address = rec.ip } end
  end
  require("banger.net").write_ssh_config(hosts)
end

--- True when the host can reach the VM's port 22 (tap, or a -p forward to 22).
---@param rec table a VM record
---@return boolean
function M.ssh_reachable(rec)
  if rec.net == "tap" then return true end
  for _, f in ipairs(rec.forwards or {}) do
    if f.guest_port == 22 then return true end
  end
  return false
end

--- Authorises the installation's SSH key for root in a running VM (through
--- the agent) and refreshes the ssh config include.
---@param name string
function M.authorize_ssh(name)
  local net = require("banger.net")
  local key = net.ssh_keypair()
  local client = M.connect(name)
  local tmp = os.tmpname()
  require("banger.fs").write(tmp, key.public_key_text .. "\n", tonumber("600", 8))
  local ok, err = pcall(function()
    local r = client:exec({ argv = { "sh", "-c", "mkdir -p /root/.ssh && chmod 700 /root/.ssh" }, forward_signals = false })
    if r.exit_code ~= 0 then errors.raise("io", ("VM '%s': preparing /root/.ssh failed"):format(name)) end
    client:put(tmp, "/root/.ssh/authorized_keys", tonumber("600", 8))
    -- The agent is PID 1, so nothing else starts services: start sshd when
    -- the image has one (host keys made on first boot).
    client:exec({ argv = { "sh", "-c",
      "[ -x /usr/sbin/sshd ] || exit 0; mkdir -p /run/sshd; " ..
      "setsid sh -c 'ssh-keygen -A >/dev/null 2>&1; /usr/sbin/sshd' </dev/null >/dev/null 2>&1 &" },
      forward_signals = false })
  end)
  os.remove(tmp)
  client:close()
  if not ok then error(err, 0) end
  M.write_ssh_config()
end

return M
