-- banger vm pause NAME...: stops the guest's CPUs (QMP stop). The VM keeps
-- its memory and uses no CPU until `banger vm resume`; commands sent to it
-- meanwhile are refused.
return recipe.new {
  description = "Pause running VMs (memory kept, no CPU used)",
  params = {
    { "names", rest = true, dashes = false, required = true, metavar = "NAME" },
  },
  run = function(ctx, args)
    for _, name in ipairs(args.names) do
      local r = banger.vm.pause(name)
      r.name = name
      ctx:emit(r, function(x)
        return x.already and ("VM '%s' is already paused"):format(name) or ("paused VM '%s'"):format(name)
      end)
    end
  end,
}
