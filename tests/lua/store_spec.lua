local store = banger.store

describe("banger.store", function()
  it("keeps records and refuses a second record of one name", function()
    store.insert("image", "a", { ref = "x" })
    expect.eq(store.get("image", "a").ref, "x")
    expect.error(function() store.insert("image", "a", {}) end, "conflict", "image 'a' already exists")
    expect.eq(#store.list("image"), 1)
    expect.eq(store.remove("image", "a"), true)
    expect.eq(store.get("image", "a"), nil)
  end)

  it("creates the state layout with 0700 directories", function()
    local p = store.paths()
    expect.eq(_host.core.stat(p.home).mode, tonumber("700", 8))
    expect.eq(_host.core.stat(p.images).type, "dir")
  end)
end)
