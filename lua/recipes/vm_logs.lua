-- banger vm logs NAME: the VM's console (kernel and agent messages).
return recipe.new {
  description = "Print a VM's console log",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "supervisor", type = "bool", help = "print the supervisor's log instead" },
  },
  run = function(ctx, args)
    local rec = banger.sandbox.require(args.name)
    local path = rec.dir .. (args.supervisor and "/supervisor.log" or "/console.log")
    if not banger.fs.exists(path) then
      banger.errors.raise("not_found", ("VM '%s' has no log yet"):format(args.name),
        ("start it with 'banger vm start %s'"):format(args.name))
    end
    io.write(banger.fs.read(path))
  end,
}
