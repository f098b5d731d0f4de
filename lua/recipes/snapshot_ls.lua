-- banger snapshot ls
return recipe.new {
  description = "List snapshots",
  run = function(ctx)
    local rows = banger.snapshot.list()
    for _, r in ipairs(rows) do r.used_by = banger.snapshot.users(r.name) end
    ctx:emit(rows, function(list)
      local out = { ("%-28s %-20s %-18s %-6s %-5s %-5s %s"):format("NAME", "VM", "IMAGE", "CPUS", "MEM", "NET", "USED BY") }
      for _, r in ipairs(list) do
        out[#out + 1] = ("%-28s %-20s %-18s %-6d %-5s %-5s %s"):format(r.name, r.vm or "-", r.image or "-", r.cpus or 0,
          ("%dM"):format(r.memory_mib or 0), r.net or "-", #r.used_by > 0 and table.concat(r.used_by, ",") or "-")
      end
      return table.concat(out, "\n")
    end)
  end,
}
