-- banger.agent.is_current: an image's agent is this banger's own only when
-- it is the same bytes (an image keeps the agent it was pulled with).
local fs, process = banger.fs, banger.process

describe("banger.agent", function()
  it("tells an image with this banger's agent from one with another or none", function()
    local dir = fs.make_temp_dir("/tmp", "agent-spec")
    fs.mkdirs(dir .. "/root/etc")
    fs.write(dir .. "/root/etc/hostname", "box\n")
    local r = process.run({ "tar", "-C", dir .. "/root", "-cf", dir .. "/layer.tar", "." })
    assert(r.code == 0, r.err)
    local image = dir .. "/img.ext4"
    banger.ext4.build({ { path = dir .. "/layer.tar" } }, image, { progress = false })
    expect.eq(banger.agent.is_current(image), false)
    banger.agent.inject(image)
    expect.eq(banger.agent.is_current(image), true)
    local img = banger.ext4.open(image, { write = true })
    img:write("/.banger/agent", "an older agent", { mode = tonumber("755", 8) })
    img:close()
    expect.eq(banger.agent.is_current(image), false)
    fs.remove(dir)
  end)
end)
