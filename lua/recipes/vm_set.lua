-- banger vm set NAME --cpus C --memory M: resources of a stopped VM.
return recipe.new {
  description = "Change a stopped VM's CPUs or memory",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "cpus", type = "int", help = "virtual CPUs" },
    { "memory", type = "size", metavar = "SIZE", help = "memory, e.g. 2G" },
  },
  run = function(ctx, args)
    local sandbox = banger.sandbox
    sandbox.reconcile()
    local rec = sandbox.require(args.name)
    if rec.state == "running" or rec.state == "starting" then
      banger.errors.raise("conflict", ("VM '%s' is running"):format(args.name),
        ("stop it first: 'banger vm stop %s'"):format(args.name))
    end
    if not args.cpus and not args.memory then
      banger.errors.raise("invalid_input", "nothing to change", "give --cpus and/or --memory")
    end
    if args.cpus then
      if args.cpus < 1 or args.cpus > 64 then banger.errors.raise("invalid_input", "--cpus must be 1-64") end
      rec.cpus = args.cpus
    end
    if args.memory then
      if args.memory < 128 * 1048576 then banger.errors.raise("invalid_input", "--memory must be at least 128M") end
      rec.memory_mib = math.floor(args.memory / 1048576)
    end
    banger.store.update("vm", args.name, rec)
    ctx:emit(rec, function(r) return ("VM '%s': %d CPUs, %d MiB"):format(r.name, r.cpus, r.memory_mib) end)
  end,
}
