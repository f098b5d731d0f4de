local fs = banger.fs

describe("recipe.new", function()
  it("runs stages with before/after/replace hooks from extend", function()
    local log = {}
    local base = recipe.new {
      name = "demo",
      stages = { "fetch", "build" },
      run = function(ctx)
        local a = ctx:stage("fetch", function() log[#log + 1] = "fetch"; return 1 end)
        return ctx:stage("build", function() log[#log + 1] = "build"; return a + 1 end)
      end,
    }
    expect.eq(base:call({}), 2)
    local ext = base:extend {
      before = { fetch = function() log[#log + 1] = "before fetch" end },
      after = { build = function(_, v) return v * 10 end },
    }
    log = {}
    expect.eq(ext:call({}), 20)
    expect.eq(log, { "before fetch", "fetch", "build" })
  end)

  it("refuses hooks on a stage the recipe does not have", function()
    local base = recipe.new { name = "demo", stages = { "a" }, run = function() end }
    expect.error(function() base:extend { after = { b = function() end } } end,
      "invalid_input", "recipe 'demo' has no stage 'b' (its stages: a)")
  end)

  it("runs deferred cleanups even when the recipe fails", function()
    local cleaned = false
    local r = recipe.new { run = function(ctx)
      ctx:defer(function() cleaned = true end)
      banger.errors.raise("io", "disk full")
    end }
    expect.error(function() r:call({}) end, "io", "disk full")
    expect.eq(cleaned, true)
  end)

  it("rejects a param of an unknown type", function()
    expect.error(function() recipe.new { name = "x", params = { { "a", type = "float" } }, run = function() end } end,
      "invalid_input", "x: param 'a' has unknown type 'float'")
  end)
end)

describe("recipe lookup", function()
  it("finds built-ins, and a user recipe shadows them", function()
    expect.eq(recipe.candidates("version")[1].origin, "builtin")
    local user = recipe.user_dir()
    fs.mkdirs(user)
    fs.write(user .. "/version.lua", 'return recipe.new { description = "mine", run = function() return "user" end }')
    local c = recipe.candidates("version")
    expect.eq(c[1].origin, "user")
    expect.eq(c[2].origin, "builtin")
    expect.eq(recipe.load("version").description, "mine")
    fs.remove(user .. "/version.lua")
  end)

  it("loads recipe files with strict globals", function()
    local dir = banger.store.paths().home .. "/r"
    fs.mkdirs(dir)
    fs.write(dir .. "/bad.lua", "return recipe.new { run = function() return undefined_thing end }")
    local r = recipe.load_candidate({ path = dir .. "/bad.lua" })
    expect.error(function() r:call({}) end, nil, "~undeclared global 'undefined_thing'")
  end)

  it("says which recipe name is missing", function()
    expect.error(function() recipe.load("nope_nope") end, "not_found", "no recipe named 'nope_nope'")
  end)
end)

describe("banger.image.registry_options", function()
  it("reads insecure hosts and mirrors from config.json", function()
    local dir = _host.core.paths().config_home
    banger.fs.mkdirs(dir)
    banger.fs.write(dir .. "/config.json", '{"registries": {"insecure": ["reg.local:5000"], "mirrors": {"docker.io": ["127.0.0.1:5001"]}}}')
    local o = banger.image.registry_options()
    expect.eq(o.insecure, { "reg.local:5000" })
    expect.eq(o.mirrors["docker.io"], { "127.0.0.1:5001" })
    banger.fs.write(dir .. "/config.json", "{not json")
    expect.error(function() banger.image.registry_options() end, "invalid_input", "~malformed banger config")
    banger.fs.remove(dir .. "/config.json")
  end)

  it("names images from references", function()
    local function name(ref) return banger.image.default_name(banger.image.resolve_source(ref)) end
    expect.eq(name("debian:bookworm"), "debian-bookworm")
    expect.eq(name("127.0.0.1:5000/a/b:v1"), "b-v1")
    expect.eq(name("debian-bookworm"), "debian-bookworm")
  end)
end)
