-- banger doctor: what this host has and lacks for banger's VMs, and how to fix it.
local function format(report)
  local out = {}
  if report.repaired then
    out[#out + 1] = #report.repaired == 0 and "nothing to repair" or "repaired:"
    for _, line in ipairs(report.repaired) do out[#out + 1] = "  " .. line end
    out[#out + 1] = ""
  end
  out[#out + 1] = ("%-16s %-6s %s"):format("CHECK", "STATUS", "DETAIL")
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
  params = {
    { "repair", type = "bool",
      help = "rebuild a damaged or lost state index from the state directories, and remove leftovers of killed commands" },
  },
  run = function(ctx, args)
    -- Repairs first: the checks below then show what is left.
    local repaired = args.repair and banger.doctor.repair() or nil
    local checks = banger.doctor.checks()
    local ok = true
    for _, c in ipairs(checks) do
      if c.essential and not c.ok then ok = false end
    end
    ctx:emit({ ok = ok, checks = checks, repaired = repaired }, format)
    return ok and 0 or 1
  end,
}
