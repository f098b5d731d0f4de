-- banger vm set NAME --cpus C --memory M: resources of a stopped VM.
return recipe.new {
  description = "Change a stopped VM's CPUs or memory",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "cpus", type = "int", min = 1, max = banger.sandbox.CPUS_MAX, help = "virtual CPUs" },
    { "memory", type = "size", metavar = "SIZE", min = banger.sandbox.MEMORY_MIN, max = banger.sandbox.MEMORY_MAX,
      help = "memory, e.g. 2G" },
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
    if args.cpus then rec.cpus = args.cpus end
    if args.memory then rec.memory_mib = math.floor(args.memory / 1048576) end
    banger.store.update("vm", args.name, rec)
    ctx:emit(rec, function(r) return ("VM '%s': %d CPUs, %d MiB"):format(r.name, r.cpus, r.memory_mib) end)
  end,
}
