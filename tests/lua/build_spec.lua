-- banger.build without a VM: the build file's keys and their errors, and
-- which changes change which stage's key.
local build = banger.build
local fs = banger.fs

local dir = fs.realpath(fs.make_temp_dir("/tmp", "buildspec"))

local function write(text)
  fs.write(dir .. "/image.lua", text)
  return dir .. "/image.lua"
end

local BASE = { name = "base", created = 1, rootfs = "/b/rootfs.ext4", size = 1024 ^ 3 }

local function keys_of(text) return build.keys(build.load(write(text)), BASE) end

describe("banger.build", function()
  it("reads a build file: defaults, env sorted, a mode in octal, one step as a string", function()
    local spec = build.load(write([[return { name = "b", from = "debian-bookworm", run = "make",
      env = { B = "2", A = 1 }, files = { { path = "/etc/x", content = "x", mode = "0755", owner = "dev:dev" } },
      workspace = true }]]))
    expect.eq(spec.run, { "make" })
    expect.eq(spec.env, { "A=1", "B=2" })
    expect.eq(spec.files[1].mode, tonumber("755", 8))
    expect.eq(spec.packages, {})
    expect.eq(spec.workspace, "/work")
    expect.eq(spec.net, "user")
    expect.eq(spec.dir, dir)
  end)

  it("names the file, the key and what is wrong", function()
    local path = dir .. "/image.lua"
    local cases = {
      { 'return { name = "b", from = "x", pakages = {} }', path .. ": unknown key 'pakages'" },
      { 'return { from = "x" }', path .. ": name is missing" },
      { 'return { name = "b", from = "x", files = { { path = "etc/x", content = "" } } }',
        path .. ": files[1].path must be an absolute guest path, got 'etc/x'" },
      { 'return { name = "b", from = "x", files = { { path = "/x" } } }',
        path .. ": files[1] must be a table with one of content and source, got both or neither" },
      { 'return { name = "b", from = "x", files = { { path = "/x", content = "", mode = "rwx" } } }',
        path .. ": files[1].mode must be an octal mode such as \"0644\", got 'rwx'" },
      { 'return { name = "b", from = "x", run = { "ok", 3 } }', path .. ": run[2] must be a shell command, got number" },
      { 'return { name = "build-x", from = "x" }',
        path .. ": the name 'build-x' starts with 'build-', which is kept for build caches" },
      { 'return { name = "b", from = "x", net = "wifi" }', path .. ": net must be user, tap or none, got 'wifi'" },
    }
    for _, c in ipairs(cases) do
      expect.error(function() build.load(write(c[1])) end, "invalid_input", c[2])
    end
    expect.error(function() build.load(dir .. "/missing.lua") end, "not_found", "no build file " .. dir .. "/missing.lua")
  end)

  it("keys: a step changes only the final key; a package both; a file's content the final one", function()
    local a = keys_of('return { name = "b", from = "x", packages = { "git" }, run = { "one" } }')
    local b = keys_of('return { name = "b", from = "x", packages = { "git" }, run = { "two" } }')
    local c = keys_of('return { name = "b", from = "x", packages = { "git", "make" }, run = { "one" } }')
    expect.eq(a.packages, b.packages)
    expect.eq(a.final ~= b.final, true)
    expect.eq(a.packages ~= c.packages, true)
    expect.eq(a.final ~= c.final, true)
    expect.eq(keys_of('return { name = "b", from = "x" }').packages, nil)
    fs.write(dir .. "/src.txt", "one")
    local f1 = keys_of('return { name = "b", from = "x", files = { { path = "/s", source = "src.txt" } } }')
    fs.write(dir .. "/src.txt", "two")
    local f2 = keys_of('return { name = "b", from = "x", files = { { path = "/s", source = "src.txt" } } }')
    expect.eq(f1.final ~= f2.final, true)
    -- Another base is another build.
    local spec = build.load(write('return { name = "b", from = "x", packages = { "git" } }'))
    local other = build.keys(spec, { name = "base", created = 2, rootfs = "/b/rootfs.ext4" })
    expect.eq(other.packages ~= build.keys(spec, BASE).packages, true)
    expect.eq(build.cache_name(a.packages):match("^build%-%x+$") ~= nil, true)
    expect.eq(#build.cache_name(a.packages), 22)
  end)
end)

fs.remove(dir)
