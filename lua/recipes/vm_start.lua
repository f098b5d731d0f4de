-- banger vm start NAME: boots the VM under its own supervisor and waits
-- until the guest agent answers.
local sandbox = banger.sandbox

return recipe.new {
  description = "Start a created or stopped VM",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "timeout", type = "int", default = 180, help = "seconds to wait for the guest agent" },
  },
  stages = { "prepare", "boot", "ready" },
  run = function(ctx, args)
    sandbox.reconcile()
    local rec = sandbox.require(args.name)
    if rec.state == "running" then
      ctx:emit(rec, function() return ("VM '%s' is already running"):format(rec.name) end)
      return rec
    end
    local spec = ctx:stage("prepare", function()
      local image = banger.image.require(rec.image)
      local kernel = sandbox.ensure_kernel(rec.kernel, ctx)
      local boot = sandbox.boot_files(kernel)
      return {
        vm = {
          name = rec.name, state_dir = rec.dir, kernel = boot.kernel, initrd = boot.initrd, rootfs = image.rootfs, overlay = rec.overlay,
          cpus = rec.cpus, memory_mib = rec.memory_mib, init = rec.init, ready_timeout_ms = args.timeout * 1000,
          net = { mode = rec.net, forwards = rec.forwards, allow_host = rec.allow_host },
        },
        tap = { address = rec.address },
      }
    end)
    local spec_path = rec.dir .. "/spec.json"
    banger.fs.write(spec_path, banger.json.encode(spec, true), tonumber("600", 8))
    local info = ctx:stage("boot", function()
      return banger.sandbox.spawn_supervisor(spec_path, rec.dir .. "/supervisor.log", args.timeout + 30)
    end)
    ctx:stage("ready", function()
      -- SSH is reachable only over tap or a forward to port 22: only then
      -- install the key and start sshd. Best effort: an image without a
      -- shell still boots and runs commands.
      if not sandbox.ssh_reachable(rec) then return end
      local ok, err = pcall(sandbox.authorize_ssh, rec.name)
      if not ok then
        banger.log("warn", ("VM '%s': ssh key not installed: %s"):format(rec.name, banger.errors.normalize(err).message))
      end
    end)
    info.name = rec.name
    ctx:emit(info, function(i)
      return ("started VM '%s' (%s, ready in %d ms)"):format(i.name, i.accel or "?", i.boot and i.boot.host_ready_ms or 0)
    end)
    return info
  end,
}
