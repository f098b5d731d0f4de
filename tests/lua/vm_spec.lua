-- banger.vm's pure parts, banger.net's addressing and the catalogs.
local sandbox = banger.vm

describe("banger.vm", function()
  it("parses port forwards like docker -p", function()
    expect.eq(sandbox.parse_forward("8080:80"), { proto = "tcp", host_addr = "127.0.0.1", host_port = 8080, guest_port = 80 })
    expect.eq(sandbox.parse_forward("0.0.0.0:53:53/udp"), { proto = "udp", host_addr = "0.0.0.0", host_port = 53, guest_port = 53 })
    expect.error(function() sandbox.parse_forward("80") end, "invalid_input", "invalid port forward '80'")
    expect.error(function() sandbox.parse_forward("70000:80") end, "invalid_input", "invalid port forward '70000:80': ports are 1-65535")
  end)

  it("parses allowed host ports and refuses what a network mode cannot serve", function()
    expect.eq(sandbox.parse_allow_host("5432"), { proto = "tcp", port = 5432 })
    expect.eq(sandbox.parse_allow_host("53/udp"), { proto = "udp", port = 53 })
    expect.error(function() sandbox.parse_allow_host("0") end, "invalid_input", "invalid host port '0'")
    expect.error(function() sandbox.parse_allow_host("80/sctp") end, "invalid_input", "invalid host port '80/sctp'")
    local udp_fwd = { sandbox.parse_forward("5353:53/udp") }
    local udp_host = { sandbox.parse_allow_host("53/udp") }
    sandbox.check_net_options("user", udp_fwd, {})
    sandbox.check_net_options("tap", {}, udp_host)
    expect.error(function() sandbox.check_net_options("tap", udp_fwd, {}) end, "invalid_input",
      "-p 5353:53/udp: tap networking forwards TCP only")
    expect.error(function() sandbox.check_net_options("user", {}, udp_host) end, "invalid_input",
      "--allow-host 53/udp: user networking allows TCP host ports only")
    expect.error(function() sandbox.check_net_options("none", udp_fwd, {}) end, "invalid_input",
      "--net none has no network: -p and --allow-host need --net user or tap")
  end)

  it("checks VM names and refuses unknown network modes", function()
    sandbox.check_name("dev-1")
    expect.error(function() sandbox.check_name("Dev_1") end, "invalid_input", "invalid VM name 'Dev_1'")
    sandbox.check_name(("a"):rep(40))
    expect.error(function() sandbox.check_name(("a"):rep(41)) end, "invalid_input", "invalid VM name '" .. ("a"):rep(41) .. "'")
    expect.error(function() sandbox.check_name("-dev") end, "invalid_input", "invalid VM name '-dev'")
    expect.error(function() sandbox.check_name("dev.1") end, "invalid_input", "invalid VM name 'dev.1'")
    expect.error(function() sandbox.check_name(42) end, "invalid_input", "invalid VM name '42'")
    local e = expect.error(function() sandbox.check_name(nil) end, "invalid_input", "invalid VM name 'nil'")
    expect.eq(e.hint, "use lowercase letters, digits and '-' (at most 40), starting with a letter or digit")
    expect.error(function() sandbox.net_mode("bridge") end, "invalid_input", "unknown network mode 'bridge'")
    expect.eq(sandbox.net_mode("user"), "user")
  end)

  it("says how to get a missing VM, image or kernel", function()
    local e = expect.error(function() sandbox.require("ghost") end, "not_found", "no VM named 'ghost'")
    expect.eq(e.hint, "list VMs with 'banger vm ls'")
    e = expect.error(function() banger.image.require("debian-bookworm") end, "not_found", "no image named 'debian-bookworm'")
    expect.eq(e.hint, "pull it with 'banger image pull debian-bookworm'")
    expect.error(function() sandbox.ensure_kernel("no-such-kernel") end, "not_found", "no kernel named 'no-such-kernel'")
  end)

  it("has the default image and kernel in the catalogs", function()
    expect.truthy(banger.image.catalog()[sandbox.DEFAULT_IMAGE], "image catalog entry")
    expect.truthy(banger.kernel.catalog()[sandbox.DEFAULT_KERNEL], "kernel catalog entry")
  end)
end)

describe("banger.net", function()
  it("maps address indexes into the subnet without touching the host", function()
    local pool = banger.net.pool()
    expect.eq(pool.first, 2)
    local t = banger.net.describe_tap("web", pool.first)
    expect.match(t.ip, "%.2$")
    expect.eq(t.address, t.ip .. "/" .. t.prefix)
    expect.eq(t.net_spec.address, t.address)
    expect.truthy(#t.tap <= 15, "tap name fits IFNAMSIZ")
  end)
end)
