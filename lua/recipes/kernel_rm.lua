-- banger kernel rm NAME...: its warm snapshots go with it.
return recipe.new {
  description = "Remove kernels (refused while a VM uses one)",
  params = { { "names", rest = true, dashes = false, required = true, metavar = "NAME" } },
  run = function(ctx, args)
    for _, name in ipairs(args.names) do
      local rec = banger.store.get("kernel", name)
      if not rec then
        banger.errors.raise("not_found", ("no kernel named '%s'"):format(name), "list kernels with 'banger kernel ls'")
      end
      for _, vm in ipairs(banger.store.list("vm")) do
        if vm.kernel == name then
          banger.errors.raise("conflict", ("kernel '%s' is used by VM '%s'"):format(name, vm.name),
            ("remove the VM first: 'banger vm rm %s'"):format(vm.name))
        end
      end
      banger.warm.prune({ kernel = name })
      banger.store.remove("kernel", name)
      banger.fs.remove(rec.dir)
      ctx:emit({ removed = name }, function() return "removed kernel '" .. name .. "'" end)
    end
  end,
}
