-- banger.project: the sandbox file's keys and what `banger run` makes of them.
describe("banger.project", function()
  it("reads mounts as HOST:GUEST[:ro] strings, HOST relative to the project's root", function()
    local fs = banger.fs
    local root = fs.realpath(fs.make_temp_dir("/tmp", "projectspec"))
    fs.mkdirs(root .. "/.banger")
    fs.write(root .. "/.banger/sandbox.lua", 'return { workspace = false, mounts = { "src:/src", "/data:/data:ro" } }')
    local sandbox = banger.project.load(root .. "/.banger/sandbox.lua")
    expect.eq(sandbox.mounts, { "src:/src", "/data:/data:ro" })
    local args = banger.project.vm_run_args(sandbox, root)
    expect.eq(args.mount, { root .. "/src:/src", "/data:/data:ro" })
    expect.eq(banger.project.vm_run_args({ workspace = false }, root).mount, nil)
    fs.write(root .. "/.banger/sandbox.lua", 'return { mounts = "src:/src" }')
    expect.error(function() banger.project.load(root .. "/.banger/sandbox.lua") end, "invalid_input",
      root .. "/.banger/sandbox.lua: mounts must be a list of strings, got string")
    fs.remove(root)
  end)
end)
