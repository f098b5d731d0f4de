-- banger recipes: every recipe, where it comes from, what it shadows.
return recipe.new {
  description = "List recipes and where each comes from (project, user, builtin)",
  run = function(ctx)
    local list = banger.recipe.list()
    ctx:emit(list, function(rows)
      local out, width = {}, 4
      for _, r in ipairs(rows) do width = math.max(width, #r.name) end
      out[#out + 1] = ("%-" .. width .. "s  %-8s  %s"):format("NAME", "ORIGIN", "PATH")
      for _, r in ipairs(rows) do
        local shadow = #r.shadows > 0 and ("  (overrides " .. table.concat(r.shadows, ", ") .. ")") or ""
        out[#out + 1] = ("%-" .. width .. "s  %-8s  %s%s"):format(r.name, r.origin, r.path, shadow)
      end
      return table.concat(out, "\n")
    end)
  end,
}
