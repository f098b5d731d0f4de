-- banger vm cp SRC DST: copies a file between the host and a running VM;
-- the VM side is written NAME:/path.
local sandbox = banger.vm

local function split(spec)
  local name, path = spec:match("^([a-z0-9][a-z0-9-]*):(/.*)$")
  return name, path
end

return recipe.new {
  description = "Copy a file into or out of a running VM (NAME:/path on one side)",
  params = {
    { "src", positional = true, required = true, metavar = "SRC" },
    { "dst", positional = true, required = true, metavar = "DST" },
  },
  run = function(ctx, args)
    local sname, spath = split(args.src)
    local dname, dpath = split(args.dst)
    if (sname and dname) or (not sname and not dname) then
      banger.errors.raise("invalid_input", "exactly one of SRC and DST must be NAME:/path",
        "e.g. 'banger vm cp ./file myvm:/root/file' or 'banger vm cp myvm:/etc/hosts ./hosts'")
    end
    if dname then
      local st = banger.fs.stat(args.src)
      if not st or st.type ~= "file" then
        banger.errors.raise("not_found", ("no such file: %s"):format(args.src), "vm cp copies one regular file")
      end
      local client = sandbox.connect(dname)
      client:put(args.src, dpath, st.mode)
      client:close()
    else
      local dst = args.dst
      if banger.fs.is_dir(dst) then dst = dst .. "/" .. banger.fs.basename(spath) end
      local client = sandbox.connect(sname)
      client:get(spath, dst)
      client:close()
    end
  end,
}
