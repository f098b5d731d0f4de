-- banger image ls: the images, with where each came from (an OCI
-- reference, a catalog name, a build file, or a committed VM). The caches
-- of image builds' stages are listed with --all.
local function source_of(r)
  if r.source == "build" then return "build " .. (r.ref or "?") end
  if r.source == "build-cache" then return "cache of " .. (r.ref or "?") end
  if r.source == "commit" then return ("commit of %s (%s)"):format((r.ref or "?"):gsub("^vm:", ""), r.from_image or "?") end
  return r.ref or "-"
end

return recipe.new {
  description = "List images",
  params = {
    { "all", short = "a", type = "bool", help = "also list the caches of image builds' stages" },
  },
  run = function(ctx, args)
    local rows = banger.json.array({})
    for _, r in ipairs(banger.image.list()) do
      if args.all or not banger.build.is_cache(r) then rows[#rows + 1] = r end
    end
    ctx:emit(rows, function(list)
      local out = { ("%-24s %-10s %-40s %s"):format("NAME", "SIZE", "SOURCE", "CREATED") }
      for _, r in ipairs(list) do
        out[#out + 1] = ("%-24s %-10s %-40s %s"):format(r.name, banger.pretty.bytes(r.content_bytes), source_of(r),
          os.date("!%Y-%m-%d %H:%M", r.created))
      end
      return table.concat(out, "\n")
    end)
  end,
}
