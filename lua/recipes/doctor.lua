-- banger doctor: what this host has and lacks for banger's VMs, and how to fix it.
local function format(report)
  local out = { ("%-16s %-6s %s"):format("CHECK", "STATUS", "DETAIL") }
  for _, c in ipairs(report.checks) do
    out[#out + 1] = ("%-16s %-6s %s"):format(c.name, c.status:upper(), c.detail)
    if c.fix ~= "" then out[#out + 1] = ("%-16s %-6s fix: %s"):format("", "", c.fix) end
  end
  out[#out + 1] = ""
  if report.ok then
    out[#out + 1] = "banger can run VMs here."
  else
    out[#out + 1] = "banger cannot run VMs here until the FAIL lines above are fixed."
  end
  return table.concat(out, "\n")
end

return recipe.new {
  description = "Check this host for what banger's VMs need, with how to fix what is missing",
  run = function(ctx)
    local checks = banger.doctor.checks()
    local ok = true
    for _, c in ipairs(checks) do
      if c.essential and not c.ok then ok = false end
    end
    ctx:emit({ ok = ok, checks = checks }, format)
    return ok and 0 or 1
  end,
}
