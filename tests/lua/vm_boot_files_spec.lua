-- banger.vm.boot_files: once banger's initramfs is built for a kernel,
-- starts reuse it without re-checking every module; a kernel image that is
-- not right still gets the full check's error.
local sandbox = banger.vm
local fs = banger.fs

-- A minimal x86 boot header: "HdrS", protocol 2.15, a version banner.
local function fake_bzimage(version)
  local b = {}
  for i = 1, 8192 do b[i] = "\0" end
  local function put(off, s) for i = 1, #s do b[off + i] = s:sub(i, i) end end
  put(0x1f1, "\4")
  put(0x202, "HdrS\15\2")
  put(0x20e, "\0\14") -- the banner at 0x200 + 0x0e00
  put(0x1000, version .. " (banger@test) #1\0")
  return table.concat(b)
end

local function kernel_dir(name, vmlinuz)
  local dir = _host.core.getenv("BANGER_HOME") .. "/kernels/" .. name
  fs.mkdirs(dir)
  fs.write(dir .. "/kernel.json", banger.json.encode({
    name = name, version = "6.1.0-test", kernel = "vmlinuz", modules = "modules/6.1.0-test",
  }))
  fs.write(dir .. "/vmlinuz", vmlinuz)
  -- banger's initramfs for this kernel and agent, as a first start builds it.
  local st = _host.core.stat(_host.agent.find())
  local initrd = ("%s/banger-initrd-%d-%d.img"):format(dir, st.size, st.mtime)
  fs.write(initrd, "cpio")
  return dir, initrd
end

describe("banger.vm.boot_files", function()
  it("reuses a built initramfs without checking the modules again", function()
    -- No modules directory: the full check would refuse this kernel.
    local dir, initrd = kernel_dir("k1", fake_bzimage("6.1.0-test"))
    expect.eq(sandbox.boot_files({ name = "k1", dir = dir }),
      { kernel = dir .. "/vmlinuz", initrd = initrd, version = "6.1.0-test" })
  end)

  it("still names a kernel image that is not a bzImage", function()
    local dir = kernel_dir("k2", ("x"):rep(8192))
    local e = expect.error(function() sandbox.boot_files({ name = "k2", dir = dir }) end, "invalid_input",
      "kernel k2: " .. dir .. "/vmlinuz is not a Linux bzImage kernel (no \"HdrS\" boot header at offset 0x202)")
    expect.eq(e.hint, "run 'banger kernel pull k2' to fetch it again")
  end)
end)
