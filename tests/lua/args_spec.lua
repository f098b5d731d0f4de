local args = banger.args

local params = {
  { "ref", positional = true, required = true },
  { "name", short = "n" },
  { "size", type = "size" },
  { "cpus", type = "int", default = 2 },
  { "rm", type = "bool" },
  { "publish", short = "p", type = "list" },
  { "command", rest = true },
}

describe("args.parse", function()
  it("fills positionals, flags, defaults and the rest after --", function()
    local a = args.parse(params, { "debian", "--name=x", "-p", "8080:80", "-p", "2222:22", "--size", "2G",
      "--rm", "--", "echo", "--not-a-flag" }, "banger vm run")
    expect.eq(a.ref, "debian")
    expect.eq(a.name, "x")
    expect.eq(a.size, 2 * 1024 ^ 3)
    expect.eq(a.cpus, 2)
    expect.eq(a.rm, true)
    expect.eq(a.publish, { "8080:80", "2222:22" })
    expect.eq(a.command, { "echo", "--not-a-flag" })
  end)

  it("takes words after the positionals as the command, like docker run", function()
    local a = args.parse(params, { "debian", "ls", "-la" }, "banger vm run")
    expect.eq(a.command, { "ls", "-la" })
  end)

  it("rejects unknown options with the exact message", function()
    local e = expect.error(function() args.parse(params, { "x", "--bogus" }, "banger vm run") end,
      "invalid_input", "unknown option '--bogus' for 'banger vm run'")
    expect.eq(e.hint, "run 'banger vm run --help' to see its usage")
  end)

  it("rejects a missing required positional", function()
    expect.error(function() args.parse(params, {}, "banger image pull") end,
      "invalid_input", "missing REF for 'banger image pull'")
  end)

  it("rejects bad numbers and sizes", function()
    expect.error(function() args.parse(params, { "x", "--cpus", "two" }, "c") end,
      "invalid_input", "--cpus for 'c' must be a whole number, got 'two'")
    expect.error(function() args.parse(params, { "x", "--size", "lots" }, "c") end,
      "invalid_input", "--size for 'c' must be a size like 512M or 10G, got 'lots'")
  end)

  it("parses sizes with units", function()
    expect.eq(args.parse_size("512M"), 512 * 1024 * 1024)
    expect.eq(args.parse_size("1g"), 1024 ^ 3)
    expect.eq(args.parse_size("4096"), 4096)
    expect.eq(args.parse_size("1GiB"), 1024 ^ 3)
    expect.eq(args.parse_size("x"), nil)
    -- Past 2^53 a double is not exact: refused rather than rounded or wrapped.
    expect.eq(args.parse_size("18446744074783293440"), nil)
    expect.eq(args.parse_size("999999999999T"), nil)
    expect.eq(args.format_size(128 * 1024 ^ 2), "128M")
    expect.eq(args.format_size(1024 ^ 4), "1T")
    expect.eq(args.format_size(1000), "1000")
  end)

  it("checks min and max, on the command line and for Lua callers", function()
    local p = { { "memory", type = "size", min = 128 * 1024 ^ 2, max = 1024 ^ 4 }, { "n", type = "int", max = 3 } }
    expect.eq(args.parse(p, { "--memory", "1G" }, "c").memory, 1024 ^ 3)
    expect.error(function() args.parse(p, { "--memory", "2T" }, "c") end,
      "invalid_input", "--memory for 'c' must be between 128M and 1T, got '2T'")
    expect.error(function() args.parse(p, { "--n", "1e300" }, "c") end,
      "invalid_input", "--n for 'c' must be at most 3, got '1e300'")
    expect.error(function() args.with_defaults(p, { memory = 1 }, "banger x") end,
      "invalid_input", "--memory for 'banger x' must be between 128M and 1T, got '1'")
  end)

  it("holds a recipe called from Lua to the command line's rules", function()
    local p = {
      { "name", positional = true, required = true, metavar = "NAME" },
      { "cpus", type = "int" }, { "memory", type = "size" }, { "rm", type = "bool" },
      { "net", choices = { "user", "tap" } }, { "publish", type = "list" },
      { "owner", type = "table", cli = false },
    }
    local a = args.with_defaults(p, { name = "dev", memory = "1G", owner = { pid = 1 } }, "banger vm run")
    expect.eq(a.memory, 1024 ^ 3)
    expect.eq(a.rm, false)
    expect.eq(#a.publish, 0)
    expect.error(function() args.with_defaults(p, { name = "dev", cpu = 2 }, "banger vm run") end,
      "invalid_input", "unknown param 'cpu' for 'banger vm run'")
    expect.error(function() args.with_defaults(p, { cpus = 2 }, "banger vm run") end,
      "invalid_input", "missing NAME for 'banger vm run'")
    expect.error(function() args.with_defaults(p, { name = "dev", rm = "yes" }, "banger vm run") end,
      "invalid_input", "--rm for 'banger vm run' must be a boolean, got string")
    expect.error(function() args.with_defaults(p, { name = "dev", cpus = 1.5 }, "banger vm run") end,
      "invalid_input", "--cpus for 'banger vm run' must be a whole number, got '1.5'")
    expect.error(function() args.with_defaults(p, { name = "dev", net = "wifi" }, "banger vm run") end,
      "invalid_input", "--net for 'banger vm run' must be one of user, tap, got 'wifi'")
    expect.error(function() args.with_defaults(p, { name = "dev", publish = "8080:80" }, "banger vm run") end,
      "invalid_input", "--publish for 'banger vm run' must be a list (a table), got string")
    -- A Lua-only param is no flag: the command line does not take it.
    expect.error(function() args.parse(p, { "dev", "--owner", "x" }, "banger vm run") end,
      "invalid_input", "unknown option '--owner' for 'banger vm run'")
  end)

  it("suggests the nearest word for a typo, and nothing for a different word", function()
    local suggest = require("banger.suggest")
    expect.eq(suggest.closest("vm lss", { "vm ls", "vm rm", "image ls" }), "vm ls")
    expect.eq(suggest.closest("Debian-Bookworm", { "debian-bookworm" }), "debian-bookworm")
    expect.eq(suggest.closest("frobnicate", { "vm ls", "version" }), nil)
  end)

  it("generates help with arguments and options", function()
    local h = args.help({ description = "Run a VM", params = params }, "banger vm run")
    expect.match(h, "^Usage: banger vm run REF %[options%] %[%-%- COMMAND%.%.%.%]")
    expect.match(h, "%-n, %-%-name NAME")
    expect.match(h, "%-%-cpus CPUS +%(default: 2%)")
  end)
end)
