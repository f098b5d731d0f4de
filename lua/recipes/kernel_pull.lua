-- banger kernel pull [NAME]: a kernel from the catalog (default debian-cloud:
-- Debian's cloud kernel through apt), published atomically.
local kernel = banger.kernel

return recipe.new {
  description = "Pull a kernel from the catalog (default: debian-cloud, Debian's cloud kernel via apt)",
  params = {
    { "name", positional = true, metavar = "NAME", default = "debian-cloud", help = "a kernel catalog name" },
  },
  stages = { "fetch" },
  run = function(ctx, args)
    local entry = kernel.catalog()[args.name]
    if not entry then
      local names = {}
      for k in pairs(kernel.catalog()) do names[#names + 1] = k end
      table.sort(names)
      banger.errors.raise("not_found", ("no kernel named '%s' in the catalog"):format(args.name),
        "known kernels: " .. table.concat(names, ", ") .. "; or 'banger kernel import --name N --kernel PATH'")
    end
    local record = kernel.publish(args.name, function(staging)
      return ctx:stage("fetch", function() return kernel.pull(args.name, entry, staging) end)
    end)
    ctx:emit(record, function(r) return ("pulled kernel '%s' (%s)"):format(r.name, r.version) end)
    return record
  end,
}
