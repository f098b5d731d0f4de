-- banger image inspect NAME
return recipe.new {
  description = "Show an image's record: rootfs path, source ref, manifest digest, sizes",
  params = { { "name", positional = true, required = true, metavar = "NAME" } },
  run = function(ctx, args)
    local rec = banger.image.require(args.name)
    ctx:emit(rec, function(r)
      local keys = {}
      for k in pairs(r) do keys[#keys + 1] = k end
      table.sort(keys)
      local out = {}
      for _, k in ipairs(keys) do out[#out + 1] = ("%-16s %s"):format(k .. ":", tostring(r[k])) end
      return table.concat(out, "\n")
    end)
  end,
}
