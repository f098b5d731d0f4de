-- banger.ext4 from Lua: build an image from a tar, then read and edit it.
local fs, process = banger.fs, banger.process

local function make_tar(dir)
  fs.mkdirs(dir .. "/root/etc")
  fs.write(dir .. "/root/etc/hello", "hi\n")
  local r = process.run({ "tar", "-C", dir .. "/root", "-cf", dir .. "/layer.tar", "." })
  assert(r.code == 0, r.err)
  return dir .. "/layer.tar"
end

describe("banger.ext4", function()
  it("builds an image from a layer and edits it without mounting", function()
    local dir = banger.store.paths().home .. "/ext4"
    local tar = make_tar(dir)
    local stats = banger.ext4.build({ { path = tar } }, dir .. "/img.ext4", { progress = false })
    expect.truthy(stats.files >= 1, "files")
    local img = banger.ext4.open(dir .. "/img.ext4", { write = true })
    expect.eq(img:read("/etc/hello"), "hi\n")
    img:write("/etc/motd", "welcome\n", { mode = tonumber("600", 8) })
    img:symlink("/etc/link", "hello")
    expect.eq(img:stat("/etc/motd").mode, tonumber("600", 8))
    expect.eq(img:stat("/etc/link").target, "hello")
    img:rm("/etc/hello")
    local names = {}
    for _, e in ipairs(img:ls("/etc")) do names[#names + 1] = e.name end
    expect.eq(names, { "link", "motd" })
    img:close()
    local fsck = process.run({ "e2fsck", "-fn", dir .. "/img.ext4" })
    expect.eq(fsck.code, 0)
  end)

  it("names a missing file", function()
    local dir = banger.store.paths().home .. "/ext4b"
    local tar = make_tar(dir)
    banger.ext4.build({ { path = tar } }, dir .. "/img.ext4", { progress = false })
    local img = banger.ext4.open(dir .. "/img.ext4")
    expect.error(function() img:read("/nope") end, "not_found", "~/nope")
    img:close()
  end)
end)
