-- banger image prune: removes the image build caches no image was built
-- from, and the cached OCI blobs no image needs (a pull fetches them
-- again). --all also removes every image no VM or snapshot uses.
return recipe.new {
  description = "Remove unused build caches and cached blobs (--all: every image no VM uses)",
  params = {
    { "all", type = "bool", help = "also remove every image that no VM or snapshot uses, and every build cache" },
  },
  run = function(ctx, args)
    local r = banger.image.prune(args.all)
    ctx:emit(r, function()
      local out = {}
      for _, name in ipairs(r.images) do out[#out + 1] = ("removed image '%s'"):format(name) end
      if r.kept_for_pull then
        out[#out + 1] = "kept the cached blobs: a pull is under way (prune again after it)"
      else
        out[#out + 1] = ("removed %d cached blob%s (%s)"):format(r.blobs, r.blobs == 1 and "" or "s", banger.pretty.bytes(r.bytes))
      end
      return table.concat(out, "\n")
    end)
    return r
  end,
}
