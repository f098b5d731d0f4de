-- banger snapshot rm SNAP...: refused while VMs made from it exist.
return recipe.new {
  description = "Remove snapshots",
  params = {
    { "names", rest = true, dashes = false, required = true, metavar = "SNAP" },
  },
  run = function(ctx, args)
    for _, name in ipairs(args.names) do
      banger.snapshot.remove(name)
      ctx:emit({ removed = name }, function() return ("removed snapshot '%s'"):format(name) end)
    end
  end,
}
