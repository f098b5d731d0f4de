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

  it("parses --mount HOST:GUEST[:ro]: HOST an existing directory, GUEST a plain guest directory", function()
    local dir = banger.fs.realpath(banger.fs.make_temp_dir("/tmp", "mountspec"))
    banger.fs.mkdirs(dir .. "/src")
    banger.fs.write(dir .. "/file", "x")
    if _host.core.geteuid() ~= 0 then
      expect.error(function() sandbox.parse_mount(dir .. ":/mnt") end, "unsupported",
        "--mount needs root: virtiofsd, which serves the mount, runs as root")
      banger.fs.remove(dir)
      return
    end
    expect.eq(sandbox.parse_mount(dir .. "/src:/mnt/src"), { host = dir .. "/src", guest = "/mnt/src", read_only = false })
    expect.eq(sandbox.parse_mount("src:/mnt/src/:ro", dir), { host = dir .. "/src", guest = "/mnt/src", read_only = true })
    expect.eq(sandbox.parse_mount("./src/../src:/data", dir), { host = dir .. "/src", guest = "/data", read_only = false })
    local e = expect.error(function() sandbox.parse_mount("src") end, "invalid_input",
      "invalid mount 'src': expected HOST:GUEST or HOST:GUEST:ro")
    expect.eq(e.hint, "use --mount HOST:GUEST, or HOST:GUEST:ro for read-only, e.g. --mount ./src:/mnt/src")
    expect.error(function() sandbox.parse_mount(dir .. ":/mnt:rw") end, "invalid_input",
      "invalid mount '" .. dir .. ":/mnt:rw': expected HOST:GUEST or HOST:GUEST:ro")
    expect.error(function() sandbox.parse_mount(":/mnt") end, "invalid_input", "invalid mount ':/mnt': expected HOST:GUEST or HOST:GUEST:ro")
    e = expect.error(function() sandbox.parse_mount("gone:/mnt", dir) end, "not_found",
      "mount host directory " .. dir .. "/gone does not exist")
    expect.eq(e.hint, "create it (mkdir -p " .. dir .. "/gone) or give an existing directory")
    expect.error(function() sandbox.parse_mount("file:/mnt", dir) end, "invalid_input",
      "mount host path " .. dir .. "/file is not a directory")
    expect.error(function() sandbox.parse_mount("src:mnt", dir) end, "invalid_input", "mount guest path 'mnt' is not absolute")
    expect.error(function() sandbox.parse_mount("src:/", dir) end, "invalid_input", "mount guest path '/' is the root directory")
    expect.error(function() sandbox.parse_mount("src:/mnt/../etc", dir) end, "invalid_input",
      "mount guest path '/mnt/../etc' has an empty, '.' or '..' component")
    expect.error(function() sandbox.parse_mount("src:/usr", dir) end, "invalid_input", "mount guest path '/usr' is a system directory")
    expect.error(function() sandbox.parse_mount("src:/.banger", dir) end, "invalid_input", "mount guest path '/.banger' is in /.banger")
    -- A list: at most MOUNTS_MAX, one per guest path.
    expect.eq(#sandbox.parse_mounts({ "src:/a", "src:/b:ro" }, dir), 2)
    expect.error(function() sandbox.parse_mounts({ "src:/a", "src:/a/" }, dir) end, "invalid_input", "two mounts at guest path /a")
    local many = {}
    for i = 1, sandbox.MOUNTS_MAX + 1 do many[i] = "src:/m" .. i end
    expect.error(function() sandbox.parse_mounts(many, dir) end, "invalid_input", "9 mounts: a VM may have at most 8")
    banger.fs.remove(dir)
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
