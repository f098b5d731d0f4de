-- banger vm run [IMAGE] [-- CMD...]: a VM for one job. Creates it (pulling
-- the image and kernel when missing), starts it, runs CMD with stdin, stdout
-- and stderr wired (or an interactive shell without CMD), and exits with the
-- command's exit code. The VM is stopped afterwards, and removed with --rm.
-- With --json, stdout holds one JSON object, printed last: the VM's name,
-- the command's exit code and signal, and each stage's milliseconds; the
-- guest's own stdout goes to stderr then, so it never corrupts the object.
-- With --workspace DIR, DIR's files are at /work (the command's working
-- directory), and when the command ends what it changed there comes back
-- (banger.workspace): a branch banger/NAME, the working tree (--apply), or
-- a directory (--export DIR); one line on stderr says where.
-- Without a workspace, a VM like one that ran before restores that one's
-- warm snapshot instead of booting (see vm_create); --cold boots.
local SHELL = "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"

return recipe.new {
  description = "Run a command or a shell in a new VM (created, started, then stopped; --rm removes it)",
  params = {
    { "image", positional = true, metavar = "IMAGE",
      help = "an image name, a catalog name, or an OCI reference (debian:bookworm, host:5000/a/b:tag), pulled when missing (default: debian-bookworm)" },
    { "name", help = "VM name (default: IMAGE-XXXX)" },
    { "cpus", type = "int", default = 2, min = 1, max = banger.vm.CPUS_MAX, help = "virtual CPUs" },
    { "memory", type = "size", metavar = "SIZE", min = banger.vm.MEMORY_MIN, max = banger.vm.MEMORY_MAX,
      help = "memory, e.g. 1G (default: 1G)" },
    { "net", choices = { "auto", "user", "tap", "none" }, help = "networking: user, tap (needs root), none" },
    { "publish", short = "p", type = "list", metavar = "[ADDR:]HOST:GUEST",
      help = "forward a host port to a guest port (see 'vm create --help')" },
    { "allow_host", type = "list", metavar = "PORT[/udp]", help = "let the guest reach this host port (see 'vm create --help')" },
    { "egress", type = "list", metavar = "RULE", help = "what the guest may reach: all, none, ADDR[/BITS][:PORT[/udp]], NAME[:PORT] (see 'vm create --help')" },
    { "add_host", type = "list", metavar = "NAME:IP", help = "the guest's DNS answers NAME with IP (see 'vm create --help')" },
    { "egress_hook", metavar = "FILE", help = "a Lua file returning function(conn) that decides connections no rule admits (see 'vm create --help')" },
    { "disk", type = "size", metavar = "SIZE", max = 16 * 1024 ^ 4,
      help = "root disk size, e.g. 20G (see 'vm create --help')" },
    { "kernel", help = "kernel name (default: debian-cloud)" },
    { "init", metavar = "PATH", help = "boot the image's own init (see 'vm create --help')" },
    { "mount", type = "list", metavar = "HOST:GUEST[:ro]", help = "share a host directory live in the guest (see 'vm create --help')" },
    { "from", metavar = "SNAPSHOT", help = "restore a snapshot instead of booting (see 'vm create --help')" },
    { "cold", type = "bool", help = "boot, even when a warm snapshot of a VM like this one could be restored" },
    { "rm", type = "bool", help = "remove the VM when the command ends" },
    { "tty", short = "t", type = "bool", help = "run the command on a terminal (default: only for the shell)" },
    { "env", short = "e", type = "list", metavar = "NAME=VALUE", help = "set an environment variable" },
    { "workdir", short = "w", metavar = "DIR", help = "working directory in the guest (default: the workspace, if any)" },
    { "workspace", metavar = "DIR", help = "DIR's files in the guest at /work; the changes come back as branch banger/NAME (see 'vm create --help')" },
    { "workspace_path", metavar = "PATH", help = "where the workspace is in the guest (default: /work)" },
    { "apply", type = "bool", help = "apply the workspace's changes to the repository's working tree instead of a branch" },
    { "export", metavar = "DIR", help = "write the workspace's changed files to the new directory DIR" },
    { "command", rest = true, metavar = "CMD", help = "the command to run (default: a login shell)" },
  },
  stages = { "create", "start", "run", "results" },
  run = function(ctx, args)
    if (args.apply or args.export or args.workspace_path) and not args.workspace then
      banger.errors.raise("invalid_input", "--apply, --export and --workspace-path need --workspace DIR")
    end
    if args.workspace then
      banger.workspace.check(args.workspace,
        { path = args.workspace_path, apply = args.apply, export = args.export, remove = args.rm })
    end
    local vm = ctx:stage("create", function()
      return banger.recipe.load("vm_create"):call({
        image = args.image, name = args.name, cpus = args.cpus, memory = args.memory,
        net = args.net, publish = args.publish, allow_host = args.allow_host, kernel = args.kernel, init = args.init,
        egress = args.egress, add_host = args.add_host, egress_hook = args.egress_hook,
        disk = args.disk,
        workspace = args.workspace, workspace_path = args.workspace_path, workspace_later = true,
        mount = args.mount, from = args.from, cold = args.cold,
      }, ctx)
    end)
    ctx:defer(function()
      -- A workspace disk still being written is waited for before its VM goes.
      banger.workspace.discard(vm.name)
      local rec = banger.vm.get(vm.name)
      if rec and rec.state ~= "stopped" and rec.state ~= "created" then
        -- With --rm the disk goes next: no clean guest shutdown needed.
        local lock = banger.vm.lock(vm.name)
        pcall(banger.vm.stop, vm.name, 30, args.rm)
        lock:release()
      end
      if args.rm then banger.recipe.load("vm_rm"):call({ names = { vm.name }, force = true }, ctx) end
    end)
    -- This process owns the run: if it dies (kill -9 included), the VM's
    -- supervisor stops the VM, and removes it with --rm.
    local owner = { pid = banger.process.pid(), remove = args.rm }
    ctx:stage("start", function()
      local ok, err = pcall(banger.recipe.load("vm_start").call, banger.recipe.load("vm_start"),
        { name = vm.name, owner = owner }, ctx)
      local cur = not ok and banger.vm.get(vm.name)
      local unfinished = cur and cur.workspace and cur.workspace.later
      if not ok and (args.from or unfinished) and not args.rm then
        -- A restore that failed, or a workspace disk that could not be
        -- written, leaves no VM behind (it never ran a command).
        banger.workspace.discard(vm.name)
        pcall(banger.recipe.load("vm_rm").call, banger.recipe.load("vm_rm"), { names = { vm.name }, force = true }, ctx)
      end
      if not ok then error(err, 0) end
    end)
    local r = ctx:stage("run", function()
      local interactive = #args.command == 0
      local argv = interactive and { "sh", "-c", SHELL } or args.command
      local client = banger.vm.connect(vm.name)
      local result = client:exec({
        argv = argv, tty = args.tty or (interactive and banger.process.isatty(0)), stdin = true,
        env = args.env, cwd = args.workdir or (vm.workspace and vm.workspace.path),
        stdout_to_stderr = ctx.json,
      })
      client:close()
      return result
    end)
    local changes
    if vm.workspace then
      -- The record's: vm start finished a workspace written while it booted.
      vm.workspace = banger.vm.require(vm.name).workspace
      ctx:stage("results", function()
        -- A clean stop first: the guest unmounts the workspace, so the disk
        -- the host reads is whole.
        local lock = banger.vm.lock(vm.name)
        local ok, err = pcall(banger.vm.stop, vm.name, 60)
        lock:release()
        if not ok then error(err, 0) end
        changes = banger.workspace.export(vm.workspace, { vm = vm.name, scratch = vm.dir, apply = args.apply, export = args.export })
        if changes.note then banger.log("warn", ("VM '%s': guest commits not brought back: %s"):format(vm.name, changes.note)) end
        io.stderr:write(banger.workspace.describe(vm.name, vm.workspace, changes), "\n")
      end)
    end
    -- `signal` only when one ended the command; `changes` says where the
    -- workspace's changes went (banger.workspace.Result).
    local result = { name = vm.name, exit_code = r.exit_code, signal = r.signal ~= 0 and r.signal or nil,
      stages_ms = ctx.timings, changes = changes }
    ctx:emit(result, function() return "" end)
    return result
  end,
}
