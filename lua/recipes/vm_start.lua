-- banger vm start NAME: boots the VM under its own supervisor and waits
-- until the guest agent answers. The VM's lock is held across the whole
-- start: a second `vm start` waits for it, then finds the VM running.
--
-- `owner = {pid=, remove=}` (from vm_run, not the command line): the process
-- the VM's run belongs to; when it dies, the supervisor stops the VM (and
-- removes it with remove=true).
return recipe.new {
  description = "Start a created or stopped VM",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "timeout", type = "int", default = 180, help = "seconds to wait for the guest agent" },
    { "owner", type = "table", cli = false, help = "{pid, remove}: the process whose death stops the VM (vm run)" },
  },
  stages = { "prepare", "boot", "ready" },
  run = function(ctx, args)
    banger.vm.require(args.name)
    local lock = banger.vm.lock(args.name)
    ctx:defer(function() lock:release() end)
    banger.vm.reconcile()
    local rec = banger.vm.require(args.name)
    -- A stop in progress finishes first; then this start boots it again.
    if rec.state == "stopping" then rec = banger.vm.stop(rec.name, args.timeout) end
    if rec.state == "starting" then
      banger.errors.raise("conflict", ("VM '%s' is still starting (supervisor pid %d)"):format(rec.name, rec.supervisor_pid),
        ("wait for it ('banger vm ls'), or stop it with 'banger vm stop %s'"):format(rec.name))
    end
    if rec.state == "paused" then
      banger.errors.raise("conflict", ("VM '%s' is paused"):format(rec.name),
        ("resume it with 'banger vm resume %s'"):format(rec.name))
    end
    if rec.state == "running" then
      -- Said only after its supervisor answered.
      local info = banger.vm.verify_running(rec.name)
      ctx:emit(info, function() return ("VM '%s' is already running"):format(rec.name) end)
      return info
    end
    local spec = ctx:stage("prepare", function()
      local image = banger.image.require(rec.image)
      local kernel = banger.vm.ensure_kernel(rec.kernel, ctx)
      local boot = banger.vm.boot_files(kernel)
      -- A VM made from a snapshot restores it on its first start.
      local restore = rec.restore_pending and banger.snapshot.restore_spec(banger.snapshot.require(rec.from_snapshot)) or nil
      return {
        vm = {
          restore = restore,
          name = rec.name, state_dir = rec.dir, kernel = boot.kernel, initrd = boot.initrd, rootfs = image.rootfs, overlay = rec.overlay,
          cpus = rec.cpus, memory_mib = rec.memory_mib, init = rec.init, ready_timeout_ms = args.timeout * 1000,
          net = { mode = rec.net, forwards = rec.forwards, allow_host = rec.allow_host },
          workspace_disk = rec.workspace and rec.workspace.disk or nil,
          workspace_path = rec.workspace and rec.workspace.path or nil,
          mounts = rec.mounts,
        },
        tap = { address = rec.address },
        owner = args.owner,
      }
    end)
    local spec_path = rec.dir .. "/spec.json"
    banger.fs.write(spec_path, banger.json.encode(spec, true), tonumber("600", 8))
    local info = ctx:stage("boot", function()
      return banger.vm.spawn_supervisor(spec_path, rec.dir .. "/supervisor.log", args.timeout + 30)
    end)
    ctx:stage("ready", function()
      -- SSH is reachable only over tap or a forward to port 22: only then
      -- install the key and start sshd. Best effort: an image without a
      -- shell still boots and runs commands.
      if not banger.vm.ssh_reachable(rec) then return end
      local ok, err = pcall(banger.vm.authorize_ssh, rec.name)
      if not ok then
        banger.log("warn", ("VM '%s': ssh key not installed: %s"):format(rec.name, banger.errors.normalize(err).message))
      end
    end)
    info.name = rec.name
    ctx:emit(info, function(i)
      local how = (i.restored_from or "") ~= "" and (", restored from snapshot '%s'"):format(i.restored_from) or ""
      return ("started VM '%s' (%s%s, ready in %d ms)"):format(i.name, i.accel or "?", how, i.boot and i.boot.host_ready_ms or 0)
    end)
    return info
  end,
}
