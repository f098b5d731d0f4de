-- banger vm rm NAME...: removes stopped VMs (with --force, running ones too):
-- record, address, disk and state directory.
local sandbox = banger.vm

return recipe.new {
  description = "Remove VMs (--force stops running ones first)",
  params = {
    { "names", rest = true, dashes = false, metavar = "NAME" },
    { "force", short = "f", type = "bool", help = "stop a running VM first" },
    { "all", type = "bool", help = "remove every VM" },
  },
  run = function(ctx, args)
    sandbox.reconcile()
    local names = args.names
    if args.all then
      names = {}
      for _, rec in ipairs(banger.store.list("vm")) do names[#names + 1] = rec.name end
    elseif #names == 0 then
      banger.errors.raise("invalid_input", "missing NAME for 'banger vm rm'", "give VM names, or --all")
    end
    for _, name in ipairs(names) do
      sandbox.require(name)
      local lock = sandbox.lock(name)
      local ok, err = pcall(function()
        local rec = sandbox.require(name)
        if sandbox.is_live_state(rec.state) then
          if not args.force then
            banger.errors.raise("conflict", ("VM '%s' is running"):format(name),
              ("stop it first ('banger vm stop %s') or use 'banger vm rm --force %s'"):format(name, name))
          end
          rec = sandbox.stop(name, 30, true)
        end
        banger.store.remove("vm", name)
        banger.fs.remove(rec.dir)
        -- Unlinked while held: a process waiting on it retries on a new file.
        banger.fs.remove(sandbox.lock_path(name))
        return rec
      end)
      lock:release()
      if not ok then error(err, 0) end
      local rec = err
      -- Only tap VMs have a block in the ssh config include.
      if rec.net == "tap" then pcall(sandbox.write_ssh_config) end
      ctx:emit({ removed = name }, function() return "removed VM '" .. name .. "'" end)
    end
  end,
}
