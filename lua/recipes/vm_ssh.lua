-- banger vm ssh NAME [-- ARGS...]: ssh into a VM with the installation's key
-- (tap networking: NAME.vm through banger's ssh config include; user
-- networking: a -p forward to the guest's port 22).
return recipe.new {
  description = "SSH into a running VM (needs sshd in the image; the default image has it)",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "args", rest = true, metavar = "ARGS", help = "more ssh arguments or a remote command" },
  },
  run = function(ctx, args)
    local rec = banger.vm.require(args.name)
    if rec.state ~= "running" then
      banger.errors.raise("conflict", ("VM '%s' is not running"):format(args.name),
        ("start it with 'banger vm start %s'"):format(args.name))
    end
    local paths = banger.net.ssh_paths()
    local argv
    if rec.net == "tap" then
      banger.vm.write_ssh_config()
      argv = { "ssh", "-F", paths.config, args.name .. ".vm" }
    else
      local port
      for _, f in ipairs(rec.forwards or {}) do
        if f.guest_port == 22 and f.proto == "tcp" then port = f.host_port end
      end
      if not port then
        banger.errors.raise("unsupported", ("VM '%s' uses user networking without a forward to port 22"):format(args.name),
          "create it with '-p 2222:22', or use --net tap (as root); 'banger vm shell' needs no ssh")
      end
      argv = { "ssh", "-i", paths.identity, "-p", tostring(port), "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@127.0.0.1" }
    end
    for _, a in ipairs(args.args) do argv[#argv + 1] = a end
    return banger.process.exec(argv)
  end,
}
