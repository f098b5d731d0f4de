-- banger kernel import --name N --kernel PATH [--initrd PATH] [--modules DIR]
local kernel = banger.kernel

return recipe.new {
  description = "Import a kernel (and optional initrd and modules) from local files",
  params = {
    { "name", required = true, help = "name for the kernel" },
    { "kernel", required = true, metavar = "PATH", help = "a bzImage (vmlinuz)" },
    { "initrd", metavar = "PATH", help = "an initramfs to keep beside it" },
    { "modules", metavar = "DIR", help = "its lib/modules/<version> (or lib/modules) directory" },
  },
  stages = { "copy", "publish" },
  run = function(ctx, args)
    if banger.store.get("kernel", args.name) then
      banger.errors.raise("conflict", ("kernel '%s' already exists"):format(args.name),
        ("remove it first: 'banger kernel rm %s'"):format(args.name))
    end
    local paths = banger.store.paths()
    local staging = _host.core.make_temp_dir(paths.staging, "kernel-" .. args.name)
    ctx:defer(function() banger.fs.remove(staging) end)
    local m = ctx:stage("copy", function()
      return kernel.import(args.name, { kernel = args.kernel, initrd = args.initrd, modules = args.modules }, staging)
    end)
    local final = paths.kernels .. "/" .. args.name
    local record = { dir = final, version = m.version, source = "local", origin = args.kernel, bytes = m.bytes }
    ctx:stage("publish", function() banger.store.publish("kernel", args.name, staging, final, record) end)
    record.name = args.name
    ctx:emit(record, function(r) return ("imported kernel '%s' (%s)"):format(r.name, r.version or "?") end)
    return record
  end,
}
