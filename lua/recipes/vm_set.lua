-- banger vm set NAME --cpus C --memory M --init PATH: resources and init of
-- a stopped VM. --egress RULE / --add-host NAME:IP: the VM's egress policy,
-- also while it runs (for its connections from then on).
return recipe.new {
  description = "Change a stopped VM's CPUs, memory or init, or a VM's egress policy (also running)",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "cpus", type = "int", min = 1, max = banger.vm.CPUS_MAX, help = "virtual CPUs" },
    { "memory", type = "size", metavar = "SIZE", min = banger.vm.MEMORY_MIN, max = banger.vm.MEMORY_MAX,
      help = "memory, e.g. 2G" },
    { "init", metavar = "PATH", help = "boot the image's own init from now on ('' for the agent again)" },
    { "egress", type = "list", metavar = "RULE", help = "the egress policy from now on: all, none or rules (see 'vm create --help'); a running VM applies it to new connections" },
    { "add_host", type = "list", metavar = "NAME:IP", help = "the names the guest's DNS answers itself (with --egress: replaces them)" },
    { "egress_hook", metavar = "FILE", help = "the Lua hook that decides connections no rule admits ('' for none)" },
  },
  run = function(ctx, args)
    banger.vm.reconcile()
    local rec = banger.vm.require(args.name)
    -- List params default to {}: given means non-empty.
    local wants_egress = (args.egress and #args.egress > 0) or (args.add_host and #args.add_host > 0) or args.egress_hook
    if wants_egress then
      if args.cpus or args.memory or args.init then
        banger.errors.raise("invalid_input", "--egress and --add-host are set on their own", "set --cpus, --memory or --init in another 'vm set'")
      end
      local egress = args.egress and #args.egress > 0 and args.egress or rec.egress
      local add_hosts = args.add_host and #args.add_host > 0 and args.add_host or rec.add_hosts
      local hook = rec.egress_hook
      if args.egress_hook == "" then
        hook = nil
      elseif args.egress_hook then
        hook = banger.net.egress_hook(args.egress_hook)
      end
      local policy = banger.net.check_egress(egress or {}, add_hosts, hook)
      if rec.net == "none" and policy ~= "all" then
        banger.errors.raise("unsupported", ("VM '%s' is on none networking: it has no network to filter"):format(rec.name),
          "create the VM with --net user or tap")
      end
      local lock = banger.vm.lock(rec.name)
      ctx:defer(function() lock:release() end)
      rec = banger.vm.require(rec.name)
      if rec.state == "running" or rec.state == "paused" then
        banger.vm.control(rec.name, { op = "egress", egress = egress or banger.json.array({}), add_hosts = add_hosts or banger.json.array({}),
          egress_hook = hook and hook.source, egress_hook_name = hook and hook.name })
      end
      rec.egress, rec.add_hosts, rec.egress_hook = egress, add_hosts, hook
      rec.egress_policy = (policy ~= "all" or add_hosts) and policy or nil
      banger.store.update("vm", rec.name, rec)
      ctx:emit(rec, function(r) return ("VM '%s': egress %s"):format(r.name, policy) end)
      return rec
    end
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
