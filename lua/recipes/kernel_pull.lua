-- banger kernel pull [NAME]: a kernel from the catalog (default debian-cloud:
-- Debian's cloud kernel through apt), published atomically.
local kernel = banger.kernel

return recipe.new {
  description = "Pull a kernel from the catalog (default: debian-cloud, Debian's cloud kernel via apt)",
  params = {
    { "name", positional = true, metavar = "NAME", default = "debian-cloud", help = "a kernel catalog name" },
  },
  stages = { "fetch", "publish" },
  run = function(ctx, args)
    local entry = kernel.catalog()[args.name]
    if not entry then
      local names = {}
      for k in pairs(kernel.catalog()) do names[#names + 1] = k end
      table.sort(names)
      banger.errors.raise("not_found", ("no kernel named '%s' in the catalog"):format(args.name),
        "known kernels: " .. table.concat(names, ", ") .. "; or 'banger kernel import --name N --kernel PATH'")
    end
    if banger.store.get("kernel", args.name) then
      banger.errors.raise("conflict", ("kernel '%s' already exists"):format(args.name),
        ("remove it first: 'banger kernel rm %s'"):format(args.name))
    end
    local paths = banger.store.paths()
    local staging = _host.core.make_temp_dir(paths.staging, "kernel-" .. args.name)
    ctx:defer(function() banger.fs.remove(staging) end)
    local m = ctx:stage("fetch", function() return kernel.pull(args.name, entry, staging) end)
    local final = paths.kernels .. "/" .. args.name
    local record = { dir = final, version = m.version, source = m.source, origin = m.origin,
                     origin_version = m.origin_version, bytes = m.bytes }
    ctx:stage("publish", function() banger.store.publish("kernel", args.name, staging, final, record) end)
    record.name = args.name
    ctx:emit(record, function(r) return ("pulled kernel '%s' (%s)"):format(r.name, r.version) end)
    return record
  end,
}
