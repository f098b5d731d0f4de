-- banger vm commit NAME IMAGE: a stopped VM's root disk (its overlay
-- flattened onto the image under it) becomes the new image IMAGE, which
-- 'vm run IMAGE' boots like any other. The VM stays as it was.
return recipe.new {
  description = "Save a stopped VM's root disk as a new image",
  params = {
    { "name", positional = true, required = true, metavar = "NAME", help = "the VM (stopped)" },
    { "image", positional = true, required = true, metavar = "IMAGE", help = "the new image's name" },
  },
  run = function(ctx, args)
    banger.image.check_name(args.image)
    banger.vm.require(args.name)
    -- Held across the copy: the VM cannot start while its disk is read.
    local lock = banger.vm.lock(args.name)
    ctx:defer(function() lock:release() end)
    banger.vm.reconcile()
    local vm = banger.vm.require(args.name)
    if vm.state ~= "stopped" and vm.state ~= "created" then
      banger.errors.raise("conflict", ("VM '%s' is %s: its disk can be saved only when it is stopped"):format(vm.name, vm.state),
        ("stop it first: 'banger vm stop %s'"):format(vm.name))
    end
    local rec = banger.image.publish_disk(args.image, vm.overlay,
      { ref = "vm:" .. vm.name, source = "commit", from_image = vm.image }, ("VM '%s''s disk"):format(vm.name))
    ctx:emit(rec, function(r) return ("saved VM '%s' as image '%s'"):format(vm.name, r.name) end)
    return rec
  end,
}
