-- banger vm fork NAME --count N: N new running VMs from a running VM (a
-- snapshot, kept as their base, then N restores). Each has its own disk,
-- name, address, MAC, hostname, clock and RNG seed.
return recipe.new {
  description = "Fork a running VM into N new running VMs",
  params = {
    { "vm", positional = true, required = true, metavar = "NAME" },
    { "count", type = "int", default = 1, min = 1, max = 64, help = "how many VMs" },
  },
  run = function(ctx, args)
    local infos, snap = banger.vm.fork(args.vm, args.count, ctx)
    local names = {}
    for _, i in ipairs(infos) do names[#names + 1] = i.name end
    ctx:emit({ snapshot = snap.name, vms = names }, function(r)
      return ("forked VM '%s' into %s (snapshot '%s')"):format(args.vm, table.concat(r.vms, ", "), r.snapshot)
    end)
  end,
}
