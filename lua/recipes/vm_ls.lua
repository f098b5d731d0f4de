-- banger vm ls
return recipe.new {
  description = "List VMs",
  run = function(ctx)
    local rows = banger.vm.list()
    ctx:emit(rows, function(list)
      local out = { ("%-24s %-9s %-18s %-6s %-5s %-7s %s"):format("NAME", "STATE", "IMAGE", "CPUS", "MEM", "NET", "IP") }
      for _, r in ipairs(list) do
        out[#out + 1] = ("%-24s %-9s %-18s %-6d %-5s %-7s %s"):format(r.name, r.lost_pause and "stopped (pause lost)" or r.state or "?", r.image or "-",
          r.cpus or 0, ("%dM"):format(r.memory_mib or 0), r.net or "-", r.ip or "-")
      end
      return table.concat(out, "\n")
    end)
  end,
}
