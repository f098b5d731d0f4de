-- banger vm cp SRC DEST: copies files and directories between the host and a
-- running VM, the VM side written NAME:/path, with docker cp's rules (the
-- host applies them; see the help below). "-" is a tar stream: on stdin
-- (extracted into the VM directory) or stdout (what the VM path holds).
local function split(spec)
  local name, path = spec:match("^([a-z0-9][a-z0-9-]*):(/.*)$")
  return name, path
end

return recipe.new {
  description = "Copy files and directories into or out of a running VM (NAME:/path on one side)",
  usage = [[
SRC or DEST is NAME:/path in a running VM; the other is a host path, or "-".
Directories are copied recursively with their modes, symlinks (never
followed), empty directories and mtimes; missing parents are made.

Where the copy lands (docker cp's rules):
  SRC is a file:       DEST a directory -> DEST/NAME; DEST a file -> overwritten;
                       DEST missing -> created (DEST ending in / is made a directory)
  SRC is a directory:  DEST missing -> created with SRC's contents;
                       DEST a directory -> SRC copied into it as DEST/NAME,
                       or, for SRC ending in /., SRC's contents merged into DEST;
                       DEST a file -> refused
  "-" as SRC reads a tar stream from stdin into the VM directory DEST:
      tar c . | banger vm cp - dev:/work
  "-" as DEST writes SRC as a tar stream to stdout.

Out of a VM, the guest is untrusted: nothing lands outside DEST (no "..",
absolute names, or writing through symlinks), files keep only their rwx bits
under your umask (never setuid or setgid) and belong to you, and a copy
that fails leaves nothing. Into a VM, files belong to root.]],
  params = {
    { "src", positional = true, required = true, metavar = "SRC", help = "NAME:/path, a host path, or - (a tar on stdin)" },
    { "dst", positional = true, required = true, metavar = "DEST", help = "NAME:/path, a host path, or - (a tar on stdout)" },
  },
  run = function(_, args)
    local sname, spath = split(args.src)
    local dname, dpath = split(args.dst)
    if (sname and dname) or (not sname and not dname) then
      banger.errors.raise("invalid_input", "exactly one of SRC and DEST must be NAME:/path",
        "e.g. 'banger vm cp ./dir myvm:/root/dir' or 'banger vm cp myvm:/etc/hosts ./hosts'")
    end
    local client = banger.vm.connect(dname or sname)
    if dname then
      client:copy_in(args.src, dpath)
    else
      client:copy_out(spath, args.dst)
    end
    client:close()
  end,
}
