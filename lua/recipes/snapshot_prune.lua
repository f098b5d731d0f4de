-- banger snapshot prune: removes the warm snapshots (banger.warm) that no
-- VM's disk sits on; the next VM of each shape boots and saves a new one.
return recipe.new {
  description = "Remove warm snapshots no VM uses (the next VM like them boots cold and saves a new one)",
  run = function(ctx)
    local removed, kept = banger.warm.prune()
    ctx:emit({ removed = removed, kept = kept }, function(r)
      local out = {}
      for _, name in ipairs(r.removed) do out[#out + 1] = ("removed warm snapshot '%s'"):format(name) end
      for _, name in ipairs(r.kept) do
        out[#out + 1] = ("kept warm snapshot '%s': VM %s still uses it"):format(name, table.concat(banger.snapshot.users(name), ", "))
      end
      if #out == 0 then out[1] = "no warm snapshots to remove" end
      return table.concat(out, "\n")
    end)
    return { removed = removed, kept = kept }
  end,
}
