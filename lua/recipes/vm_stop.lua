-- banger vm stop NAME...: powers the guest off cleanly; the supervisor then
-- releases what the VM held and exits.
local sandbox = banger.sandbox

return recipe.new {
  description = "Stop running VMs (clean power-off)",
  params = {
    { "names", rest = true, dashes = false, required = true, metavar = "NAME" },
    { "timeout", type = "int", default = 30, help = "seconds to wait for each VM" },
  },
  run = function(ctx, args)
    sandbox.reconcile()
    for _, name in ipairs(args.names) do
      local rec = sandbox.require(name)
      if rec.state == "running" or rec.state == "starting" then
        local c = sandbox.connect(name)
        c:stop(args.timeout)
        c:close()
        sandbox.reconcile()
      end
      ctx:emit({ stopped = name }, function() return "stopped VM '" .. name .. "'" end)
    end
  end,
}
