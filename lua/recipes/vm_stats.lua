-- banger vm stats NAME: memory and CPU as the guest sees them.
return recipe.new {
  description = "Show memory, CPU and load of a running VM",
  params = { { "name", positional = true, required = true, metavar = "NAME" } },
  run = function(ctx, args)
    local client = banger.vm.connect(args.name)
    local s = client:stats()
    client:close()
    ctx:emit(s, function(v)
      local used = v.mem_total_kib - v.mem_available_kib
      return table.concat({
        ("memory     %d MiB used of %d MiB"):format(math.floor(used / 1024), math.floor(v.mem_total_kib / 1024)),
        ("cpu        user %d ms, system %d ms, idle %d ms"):format(v.cpu_user_ms, v.cpu_system_ms, v.cpu_idle_ms),
        ("load       %.2f"):format(v.load1),
        ("processes  %d"):format(v.processes),
      }, "\n")
    end)
  end,
}
