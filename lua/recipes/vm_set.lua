-- banger vm set NAME --cpus C --memory M --init PATH: resources and init of a stopped VM.
return recipe.new {
  description = "Change a stopped VM's CPUs, memory or init",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "cpus", type = "int", min = 1, max = banger.vm.CPUS_MAX, help = "virtual CPUs" },
    { "memory", type = "size", metavar = "SIZE", min = banger.vm.MEMORY_MIN, max = banger.vm.MEMORY_MAX,
      help = "memory, e.g. 2G" },
    { "init", metavar = "PATH", help = "boot the image's own init from now on ('' for the agent again)" },
  },
  run = function(ctx, args)
    banger.vm.reconcile()
    local rec = banger.vm.require(args.name)
    if rec.state == "running" or rec.state == "starting" or rec.state == "paused" then
      banger.errors.raise("conflict", ("VM '%s' is running"):format(args.name),
        ("stop it first: 'banger vm stop %s'"):format(args.name))
    end
    if not args.cpus and not args.memory and not args.init then
      banger.errors.raise("invalid_input", "nothing to change", "give --cpus, --memory or --init")
    end
    if args.cpus then rec.cpus = args.cpus end
    if args.memory then rec.memory_mib = math.floor(args.memory / 1048576) end
    if args.init == "" then
      rec.init = nil
    elseif args.init then
      banger.vm.check_init(args.init)
      rec.init = args.init
    end
    banger.store.update("vm", args.name, rec)
    ctx:emit(rec, function(r) return ("VM '%s': %d CPUs, %d MiB"):format(r.name, r.cpus, r.memory_mib) end)
  end,
}
