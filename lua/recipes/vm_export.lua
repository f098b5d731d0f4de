-- banger vm export NAME: brings back what the guest changed in the VM's
-- workspace (see banger.workspace): a branch banger/NAME in the repository
-- it came from, the working tree with --apply, or the changed files in a new
-- directory with --export DIR. A running VM is synced first; a stopped one
-- is read as it is. The host reads the disk itself: no git needed in the image.
return recipe.new {
  description = "Bring back what a VM changed in its workspace (a branch banger/NAME, --apply, or --export DIR)",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "apply", type = "bool", help = "apply the changes to the repository's working tree instead of a branch" },
    { "export", metavar = "DIR", help = "write the changed files to the new directory DIR" },
  },
  stages = { "sync", "export" },
  run = function(ctx, args)
    local rec = banger.vm.require(args.name)
    if not rec.workspace then
      banger.errors.raise("invalid_input", ("VM '%s' has no workspace"):format(rec.name),
        "create it with --workspace DIR ('banger vm create --workspace .')")
    end
    banger.workspace.check_finished(rec.name, rec.workspace)
    banger.workspace.check(rec.workspace.source, { path = rec.workspace.path, apply = args.apply, export = args.export })
    ctx:stage("sync", function()
      if not banger.vm.is_up(rec) then return end
      -- What the guest wrote reaches the disk before the host reads it.
      local client = banger.vm.connect(rec.name)
      local ok, r = pcall(client.exec, client, { argv = { "sync" } })
      client:close()
      if not ok or r.exit_code ~= 0 then
        banger.log("warn", ("VM '%s': 'sync' failed in the guest; reading its workspace as it is on disk"):format(rec.name))
      end
    end)
    local r = ctx:stage("export", function()
      return banger.workspace.export(rec.workspace, { vm = rec.name, scratch = rec.dir, apply = args.apply, export = args.export })
    end)
    if r.note then banger.log("warn", ("VM '%s': guest commits not brought back: %s"):format(rec.name, r.note)) end
    r.name = rec.name
    ctx:emit(r, function() return banger.workspace.describe(rec.name, rec.workspace, r) end)
    return r
  end,
}
