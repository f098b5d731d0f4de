-- banger kernel import --name N --kernel PATH [--initrd PATH] [--modules DIR]
return recipe.new {
  description = "Import a kernel (and optional initrd and modules) from local files",
  params = {
    { "name", required = true, help = "name for the kernel" },
    { "kernel", required = true, metavar = "PATH", help = "a bzImage (vmlinuz)" },
    { "initrd", metavar = "PATH", help = "an initramfs to keep beside it" },
    { "modules", metavar = "DIR", help = "its lib/modules/<version> (or lib/modules) directory" },
  },
  stages = { "copy" },
  run = function(ctx, args)
    local record = banger.kernel.publish(args.name, function(staging)
      return ctx:stage("copy", function()
        return banger.kernel.import(args.name, { kernel = args.kernel, initrd = args.initrd, modules = args.modules }, staging)
      end)
    end)
    ctx:emit(record, function(r) return ("imported kernel '%s' (%s)"):format(r.name, r.version or "?") end)
    return record
  end,
}
