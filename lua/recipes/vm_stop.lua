-- banger vm stop NAME...: powers the guest off cleanly; the supervisor then
-- releases what the VM held and exits.
return recipe.new {
  description = "Stop running VMs (clean power-off)",
  params = {
    { "names", rest = true, dashes = false, required = true, metavar = "NAME" },
    { "timeout", type = "int", default = 30, help = "seconds to wait for each VM" },
  },
  run = function(ctx, args)
    banger.vm.reconcile()
    for _, name in ipairs(args.names) do
      banger.vm.require(name)
      -- Returns once the supervisor is gone and the record says stopped, so
      -- a `vm start` right after never finds it still running.
      local lock = banger.vm.lock(name)
      local ok, err = pcall(banger.vm.stop, name, args.timeout)
      lock:release()
      if not ok then error(err, 0) end
      ctx:emit({ stopped = name }, function() return "stopped VM '" .. name .. "'" end)
    end
  end,
}
