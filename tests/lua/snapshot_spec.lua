-- banger.snapshot's records and banger.vm's VMM operations, without a VM:
-- what a user sees when the snapshot or the VM is not there or in use.
local snapshot = banger.snapshot
local store = banger.store

describe("banger.snapshot", function()
  it("names a missing snapshot and VM, and a VM that is not running", function()
    local e = expect.error(function() snapshot.require("ghost") end, "not_found", "no snapshot named 'ghost'")
    expect.eq(e.hint, "list snapshots with 'banger snapshot ls'")
    expect.error(function() banger.vm.pause("ghost") end, "not_found", "no VM named 'ghost'")
    expect.error(function() banger.vm.snapshot("ghost", "s1") end, "not_found", "no VM named 'ghost'")
    expect.error(function() snapshot.take("ghost", "Bad_Name") end, "invalid_input", "invalid VM name 'Bad_Name'")
    store.insert("vm", "idle", { state = "stopped", dir = store.paths().vms .. "/idle" })
    e = expect.error(function() banger.vm.resume("idle") end, "conflict", "VM 'idle' is not running (state: stopped)")
    expect.eq(e.hint, "start it with 'banger vm start idle'")
    store.remove("vm", "idle")
  end)

  it("keeps a snapshot while VMs stand on its disk, and removes it with its directory after", function()
    local dir = store.paths().snapshots .. "/base"
    banger.fs.mkdirs(dir, tonumber("700", 8))
    banger.fs.write(dir .. "/state", "x", tonumber("600", 8))
    store.insert("snapshot", "base", { dir = dir, vm = "src" })
    store.insert("vm", "fork-1", { state = "stopped", from_snapshot = "base", dir = "/nowhere" })
    expect.eq(snapshot.users("base"), { "fork-1" })
    local e = expect.error(function() snapshot.remove("base") end, "conflict", "snapshot 'base' is the base of VM fork-1")
    expect.eq(e.hint, "remove those VMs first ('banger vm rm fork-1')")
    expect.error(function() snapshot.take("src", "base") end, "conflict", "snapshot 'base' already exists")
    store.remove("vm", "fork-1")
    snapshot.remove("base")
    expect.eq(snapshot.get("base"), nil)
    expect.eq(banger.fs.exists(dir), false)
    expect.eq(snapshot.restore_spec({ name = "s", dir = "/d", memory_file = true, qemu_version = "7.2.22",
      shape_digest = "sha256:ab" }), { snapshot = "s", state = "/d/state", memory = "/d/memory",
      qemu_version = "7.2.22", shape_digest = "sha256:ab" })
  end)
end)
