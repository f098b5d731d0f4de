-- banger vm exec NAME -- CMD...: runs a command in a running VM with stdio
-- wired; exits with its exit code.
return recipe.new {
  description = "Run a command in a running VM",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "tty", short = "t", type = "bool", help = "run on a terminal" },
    { "env", short = "e", type = "list", metavar = "NAME=VALUE", help = "set an environment variable" },
    { "workdir", short = "w", metavar = "DIR", help = "working directory in the guest" },
    { "user", short = "u", metavar = "USER", help = "user name or UID[:GID] (default: root)" },
    { "command", rest = true, required = true, metavar = "CMD" },
  },
  run = function(ctx, args)
    local client = banger.vm.connect(args.name)
    local r = client:exec({ argv = args.command, tty = args.tty, stdin = true, env = args.env,
                            cwd = args.workdir, user = args.user })
    client:close()
    return r.exit_code
  end,
}
