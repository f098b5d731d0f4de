-- banger.warm without a VM: names and keys of shapes, which VMs may start
-- warm, and eviction (stale keys, VMs still on a snapshot, prune filters).
local warm = banger.warm
local store = banger.store

local function shape(over)
  local rec = { image = "img", kernel = "k", cpus = 2, memory_mib = 1024, net = "none" }
  for k, v in pairs(over or {}) do rec[k] = v end
  return rec
end

local function fake_snapshot(name, fields)
  local dir = store.paths().snapshots .. "/" .. name
  banger.fs.mkdirs(dir, tonumber("700", 8))
  local rec = { dir = dir, vm = "src", image = "img", kernel = "k" }
  for k, v in pairs(fields) do rec[k] = v end
  store.insert("snapshot", name, rec)
  return dir
end

describe("banger.warm", function()
  it("names a shape the same every time, and another shape otherwise", function()
    local name = warm.name(shape())
    expect.eq(name, warm.name(shape()))
    expect.eq(#name, 21)
    expect.eq(name:match("^warm%-[0-9a-f]+$") ~= nil, true)
    for _, over in ipairs({ { cpus = 1 }, { memory_mib = 2048 }, { disk = 1 }, { net = "user" }, { init = "/sbin/init" },
      { image = "other" }, { kernel = "k2" } }) do
      expect.eq(warm.name(shape(over)) ~= name, true)
    end
    -- The key follows the image's identity: a pull of the same name is another.
    store.insert("image", "img", { rootfs = "/a" })
    local key = warm.key(shape())
    expect.eq(key, warm.key(shape()))
    store.remove("image", "img")
    store.insert("image", "img", { rootfs = "/b" })
    expect.eq(warm.key(shape()) ~= key, true)
    store.remove("image", "img")
  end)

  it("starts warm only a new VM with no workspace, mount, snapshot or --cold", function()
    expect.eq(warm.eligible(shape()), true)
    expect.eq(warm.eligible(shape({ cold = true })), false)
    expect.eq(warm.eligible(shape({ from_snapshot = "s" })), false)
    expect.eq(warm.eligible(shape({ workspace = { disk = "/w" } })), false)
    expect.eq(warm.eligible(shape({ mounts = { { host = "/h", guest = "/g" } } })), false)
  end)

  it("evicts a snapshot whose key is stale, but never one a VM stands on", function()
    local name = warm.name(shape())
    local dir = fake_snapshot(name, { warm_key = "sha256:stale" })
    store.insert("vm", "user-1", { state = "stopped", from_snapshot = name, dir = "/nowhere" })
    expect.eq(warm.find(shape()), nil)
    expect.eq(store.get("snapshot", name) ~= nil, true)  -- kept: user-1 is on it
    store.remove("vm", "user-1")
    expect.eq(warm.find(shape()), nil)
    expect.eq(store.get("snapshot", name), nil)
    expect.eq(banger.fs.exists(dir), false)
    -- A matching key is found.
    fake_snapshot(name, { warm_key = warm.key(shape()) })
    expect.eq(warm.find(shape()).name, name)
    expect.eq(warm.restoring({ restore_pending = true, from_snapshot = name }), true)
    expect.eq(warm.restoring({ from_snapshot = name }), false)
    store.remove("snapshot", name)
  end)

  it("prunes warm snapshots by image or kernel, and never a snapshot a user took", function()
    fake_snapshot("warm-a", { warm_key = "x", image = "img" })
    fake_snapshot("warm-b", { warm_key = "x", image = "other", kernel = "k2" })
    fake_snapshot("mine", { image = "img" })
    local removed = warm.prune({ image = "img" })
    expect.eq(removed, { "warm-a" })
    removed = warm.prune({ kernel = "k2" })
    expect.eq(removed, { "warm-b" })
    expect.eq(warm.prune(), {})
    expect.eq(store.get("snapshot", "mine") ~= nil, true)
    banger.snapshot.remove("mine")
  end)
end)
