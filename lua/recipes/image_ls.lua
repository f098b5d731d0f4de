-- banger image ls
local function human(n)
  if not n then return "-" end
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[i])
end

return recipe.new {
  description = "List images",
  run = function(ctx)
    local rows = banger.image.list()
    ctx:emit(rows, function(list)
      local out = { ("%-24s %-10s %-40s %s"):format("NAME", "SIZE", "SOURCE", "CREATED") }
      for _, r in ipairs(list) do
        out[#out + 1] = ("%-24s %-10s %-40s %s"):format(r.name, human(r.content_bytes), r.ref or "-",
          os.date("!%Y-%m-%d %H:%M", r.created))
      end
      return table.concat(out, "\n")
    end)
  end,
}
