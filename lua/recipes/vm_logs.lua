-- banger vm logs NAME [-f]: the VM's console (kernel and agent messages:
-- the agent says when the root disk is mounted and when it is ready);
-- --supervisor its supervisor's log, --net its egress decisions.
return recipe.new {
  description = "Print a VM's console log (-f: follow it while the VM runs)",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "supervisor", type = "bool", help = "print the supervisor's log instead" },
    { "net", type = "bool", help = "print the network log instead: each connection attempt under --egress with its verdict" },
    { "follow", short = "f", type = "bool", help = "keep printing what is written until the VM stops (or Ctrl-C)" },
  },
  run = function(ctx, args)
    local rec = banger.vm.require(args.name)
    local path = rec.dir .. (args.supervisor and "/supervisor.log" or args.net and "/net.log" or "/console.log")
    if args.net and not banger.fs.exists(path) and rec.egress_policy == nil then
      banger.errors.raise("not_found", ("VM '%s' has no network log: it has no egress policy"):format(args.name),
        "create it with --egress RULE (see 'banger vm create --help')")
    end
    if not banger.fs.exists(path) then
      banger.errors.raise("not_found", ("VM '%s' has no log yet"):format(args.name),
        ("start it with 'banger vm start %s'"):format(args.name))
    end
    local f = assert(io.open(path, "rb"))
    ctx:defer(function() f:close() end)
    io.write(f:read("*a"))
    io.stdout:flush()
    if not args.follow then return end
    -- Follow: print what is appended, until the VM is no longer up (then
    -- what it wrote last), like `tail -f`; Ctrl-C exits 130.
    local running = true
    while running do
      banger.process.sleep(200)
      running = banger.vm.is_up(banger.vm.get(args.name))
      f:seek("cur")  -- clears the end-of-file mark, so the read sees what was appended
      local more = f:read("*a")
      if more and #more > 0 then
        io.write(more)
        io.stdout:flush()
      end
    end
  end,
}
