-- banger vm shell NAME: an interactive login shell in a running VM.
return recipe.new {
  description = "Open an interactive shell in a running VM",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "user", short = "u", metavar = "USER", help = "user name or UID[:GID] (default: root)" },
  },
  run = function(ctx, args)
    local client = banger.vm.connect(args.name)
    local r = client:exec({
      argv = { "sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi" },
      tty = banger.process.isatty(0), stdin = true, user = args.user,
    })
    client:close()
    return r.exit_code
  end,
}
