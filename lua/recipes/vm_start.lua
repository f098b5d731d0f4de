-- banger vm start NAME: boots the VM under its own supervisor and waits
-- until the guest agent answers. The VM's lock is held across the whole
-- start: a second `vm start` waits for it, then finds the VM running.
-- A new VM's first boot is saved as a warm snapshot for the next VM like it
-- (banger.warm); a VM made from one restores it, or boots when it cannot.
--
-- `owner = {pid=, remove=}` (from vm_run, not the command line): the process
-- the VM's run belongs to; when it dies, the supervisor stops the VM (and
-- removes it with remove=true).
--
-- `detach = true` (banger.vm.restore, not the command line): returns as soon
-- as the supervisor is spawned, with {name=, wait=function}: wait() waits
-- for the VM like a start does and returns the same; the VM's lock is held
-- until then. Several VMs start at once that way (vm fork).
return recipe.new {
  description = "Start a created or stopped VM",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "timeout", type = "int", default = 180, help = "seconds to wait for the guest agent" },
    { "owner", type = "table", cli = false, help = "{pid, remove}: the process whose death stops the VM (vm run)" },
    { "detach", type = "bool", cli = false, help = "return once the supervisor is spawned, with wait() (vm.restore)" },
  },
  stages = { "prepare", "boot", "workspace", "ready", "warm" },
  run = function(ctx, args)
    banger.vm.require(args.name)
    local lock = banger.vm.lock(args.name)
    local lock_handed_over = false
    ctx:defer(function() if not lock_handed_over then lock:release() end end)
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
    banger.workspace.check_finished(rec.name, rec.workspace)
    -- Its first boot leaves a warm snapshot behind for the next VM like it.
    local save_warm = rec.state == "created" and banger.warm.eligible(rec)
    -- After the supervisor reported the VM ready: the rest of the start.
    local function finish(info)
      if rec.workspace and rec.workspace.later then
        -- Its disk was written while the VM booted (vm run): now it is whole,
        -- the guest mounts it, and the record says so.
        ctx:stage("workspace", function()
          local client = banger.vm.connect(rec.name)
          local cok, ws = pcall(banger.workspace.finish, rec.name, rec.workspace, client)
          client:close()
          if not cok then error(ws, 0) end
          local cur = banger.vm.require(rec.name)
          cur.workspace = ws
          banger.store.update("vm", rec.name, cur)
          rec.workspace = ws
        end)
      end
      ctx:stage("ready", function()
        -- SSH is reachable only over tap or a forward to port 22: only then
        -- install the key and start sshd. Best effort: an image without a
        -- shell still boots and runs commands.
        if not banger.vm.ssh_reachable(rec) then return end
        local aok, err = pcall(banger.vm.authorize_ssh, rec.name)
        if not aok then
          banger.log("warn", ("VM '%s': ssh key not installed: %s"):format(rec.name, banger.errors.normalize(err).message))
        end
      end)
      if save_warm then ctx:stage("warm", function() banger.warm.save(rec) end) end
      info.name = rec.name
      ctx:emit(info, function(i)
        local how = (i.restored_from or "") ~= "" and (", restored from snapshot '%s'"):format(i.restored_from) or ""
        return ("started VM '%s' (%s%s, ready in %d ms)"):format(i.name, i.accel or "?", how, i.boot and i.boot.host_ready_ms or 0)
      end)
      return info
    end
    local function boot(r)
      local spec = ctx:stage("prepare", function()
        local image = banger.image.require(r.image)
        local kernel = banger.vm.ensure_kernel(r.kernel, ctx)
        local files = banger.vm.boot_files(kernel)
        -- A VM made from a snapshot restores it on its first start.
        local restore = r.restore_pending and banger.snapshot.restore_spec(banger.snapshot.require(r.from_snapshot)) or nil
        return {
          vm = {
            restore = restore,
            name = r.name, state_dir = r.dir, kernel = files.kernel, initrd = files.initrd, rootfs = image.rootfs, overlay = r.overlay,
            cpus = r.cpus, memory_mib = r.memory_mib, init = r.init, ready_timeout_ms = args.timeout * 1000,
            net = { mode = r.net, forwards = r.forwards, allow_host = r.allow_host, egress = r.egress, add_hosts = r.add_hosts,
              egress_hook = r.egress_hook and r.egress_hook.source, egress_hook_name = r.egress_hook and r.egress_hook.name },
            workspace_disk = r.workspace and r.workspace.disk or nil,
            workspace_path = r.workspace and r.workspace.path or nil,
            workspace_later = r.workspace and r.workspace.later or nil,
            mounts = r.mounts,
          },
          tap = { address = r.address },
          owner = args.owner,
        }
      end)
      local spec_path = r.dir .. "/spec.json"
      banger.fs.write(spec_path, banger.json.encode(spec, true), tonumber("600", 8))
      return ctx:stage("boot", function()
        if args.detach then return banger.vm.launch_supervisor(spec_path, r.dir .. "/supervisor.log") end
        return banger.vm.spawn_supervisor(spec_path, r.dir .. "/supervisor.log", args.timeout + 30)
      end)
    end
    local ok, info = pcall(boot, rec)
    if ok and args.detach then
      local launched = info
      lock_handed_over = true
      return { name = rec.name, wait = function()
        local wok, res = pcall(function() return finish(launched:wait(args.timeout + 30)) end)
        lock:release()
        if not wok then error(res, 0) end
        return res
      end }
    end
    if not ok and banger.warm.restoring(rec) then
      -- A warm snapshot this QEMU cannot restore (upgraded, another command
      -- line) is no reason to fail: the VM boots cold instead.
      banger.log("warn", ("VM '%s': warm snapshot '%s' did not restore (%s): booting"):format(rec.name,
        rec.from_snapshot, banger.errors.normalize(info).message))
      rec = banger.warm.go_cold(rec)
      save_warm = true
      ok, info = pcall(boot, rec)
    end
    if not ok then error(info, 0) end
    return finish(info)
  end,
}
