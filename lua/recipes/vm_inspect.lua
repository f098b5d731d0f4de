-- banger vm inspect NAME: the VM's record, as `vm ls --json` holds it (with
-- --json, the same object): image, kernel, resources, state, address, its
-- egress policy ("all" unless one was given), workspace, mounts.
return recipe.new {
  description = "Show a VM's record: image, resources, state, address, egress policy, workspace",
  params = { { "name", positional = true, required = true, metavar = "NAME" } },
  run = function(ctx, args)
    local rec = banger.vm.require(args.name)
    rec.egress_policy = rec.egress_policy or "all"
    ctx:emit(rec, function(r)
      local keys = {}
      for k in pairs(r) do keys[#keys + 1] = k end
      table.sort(keys)
      local out = {}
      for _, k in ipairs(keys) do
        local v = r[k]
        out[#out + 1] = ("%-16s %s"):format(k .. ":", type(v) == "table" and banger.json.encode(v) or tostring(v))
      end
      return table.concat(out, "\n")
    end)
    return rec
  end,
}
