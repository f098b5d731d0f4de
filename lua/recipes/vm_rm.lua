-- banger vm rm NAME...: removes stopped VMs (with --force, running ones too):
-- record, address, disk and state directory.
local function remove_one(ctx, name, force)
  local lock = banger.vm.lock(name)
  local ok, err = pcall(function()
    local rec = banger.vm.get(name)
    if not rec then
      if force then  -- removed meanwhile by another banger
        banger.fs.remove(banger.vm.lock_path(name))
        return nil
      end
      rec = banger.vm.require(name)
    end
    if banger.vm.is_live_state(rec.state) then
      if not force then
        banger.errors.raise("conflict", ("VM '%s' is running"):format(name),
          ("stop it first ('banger vm stop %s') or use 'banger vm rm --force %s'"):format(name, name))
      end
      rec = banger.vm.stop(name, 30, true)
    end
    banger.store.remove("vm", name)
    banger.fs.remove(rec.dir)
    -- Unlinked while held: a process waiting on it retries on a new file.
    banger.fs.remove(banger.vm.lock_path(name))
    return rec
  end)
  lock:release()
  if not ok then error(err, 0) end
  local rec = err
  if not rec then return end
  -- Only tap VMs have a block in the ssh config include.
  if rec.net == "tap" then pcall(banger.vm.write_ssh_config) end
  ctx:emit({ removed = name }, function() return "removed VM '" .. name .. "'" end)
end

return recipe.new {
  description = "Remove VMs (--force stops running ones first)",
  params = {
    { "names", rest = true, dashes = false, metavar = "NAME" },
    { "force", short = "f", type = "bool", help = "stop a running VM first; a missing VM is no error" },
    { "all", type = "bool", help = "remove every VM" },
  },
  run = function(ctx, args)
    banger.vm.reconcile()
    local names = args.names
    if args.all then
      names = {}
      for _, rec in ipairs(banger.store.list("vm")) do names[#names + 1] = rec.name end
    elseif #names == 0 then
      banger.errors.raise("invalid_input", "missing NAME for 'banger vm rm'", "give VM names, or --all")
    end
    for _, name in ipairs(names) do
      -- With --force a missing VM is no error (docker rm -f): teardown
      -- steps can run twice.
      if args.force then banger.vm.check_name(name) else banger.vm.require(name) end
      if not args.force or banger.vm.get(name) then
        remove_one(ctx, name, args.force)
      else
        banger.log("info", ("no VM named '%s': nothing to remove"):format(name))
      end
    end
  end,
}
