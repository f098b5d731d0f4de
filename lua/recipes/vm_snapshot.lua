-- banger vm snapshot NAME [--name SNAP]: saves a running or paused VM's
-- memory, device state and disk under $BANGER_HOME/snapshots/SNAP. A running
-- VM is paused only for the save and runs on.
return recipe.new {
  description = "Save a running VM as a snapshot (memory, devices, disk); the VM runs on",
  params = {
    { "vm", positional = true, required = true, metavar = "NAME" },
    { "name", metavar = "SNAP", help = "the snapshot's name (default: NAME-snap-XXXX)" },
  },
  run = function(ctx, args)
    local snap = banger.vm.snapshot(args.vm, args.name)
    ctx:emit(snap, function(s)
      return ("saved VM '%s' as snapshot '%s' (paused %.0f ms)"):format(s.vm, s.name, s.paused_ms or 0)
    end)
    return snap
  end,
}
