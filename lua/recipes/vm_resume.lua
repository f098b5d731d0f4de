-- banger vm resume NAME...: continues paused VMs where they stopped (QMP cont).
return recipe.new {
  description = "Resume paused VMs",
  params = {
    { "names", rest = true, dashes = false, required = true, metavar = "NAME" },
  },
  run = function(ctx, args)
    for _, name in ipairs(args.names) do
      local r = banger.vm.resume(name)
      r.name = name
      ctx:emit(r, function(x)
        return x.already and ("VM '%s' is not paused"):format(name) or ("resumed VM '%s'"):format(name)
      end)
    end
  end,
}
