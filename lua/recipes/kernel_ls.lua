-- banger kernel ls
return recipe.new {
  description = "List kernels",
  run = function(ctx)
    local rows = banger.store.list("kernel")
    ctx:emit(rows, function(list)
      local out = { ("%-20s %-24s %-8s %s"):format("NAME", "VERSION", "SOURCE", "ORIGIN") }
      for _, r in ipairs(list) do
        out[#out + 1] = ("%-20s %-24s %-8s %s"):format(r.name, r.version or "-", r.source or "-", r.origin or "-")
      end
      return table.concat(out, "\n")
    end)
  end,
}
