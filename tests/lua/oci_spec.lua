local oci = banger.oci
local process = banger.process

local function run(argv)
  local r = process.run(argv)
  if r.code ~= 0 then error(table.concat(argv, " ") .. " failed: " .. r.err) end
  return r.out
end

describe("banger.oci", function()
  it("parses refs with docker's defaults", function()
    local r = oci.parse("debian:bookworm")
    expect.eq(r.transport, "docker")
    expect.eq(r.registry, "registry-1.docker.io")
    expect.eq(r.repository, "library/debian")
    expect.eq(r.tag, "bookworm")
    expect.eq(r.canonical, "registry-1.docker.io/library/debian:bookworm")
    local l = oci.parse("oci:/tmp/x:v1")
    expect.eq(l.transport, "oci")
    expect.eq(l.path, "/tmp/x")
    expect.eq(l.tag, "v1")
  end)

  it("raises invalid_input for malformed refs", function()
    expect.error(function() oci.parse("Debian") end, "invalid_input",
      'invalid image reference "Debian": repository name must be lowercase')
    expect.error(function() oci.parse(42) end, "invalid_input", "oci.parse: ref must be a string, got number")
  end)

  it("pulls an OCI layout made by umoci into the cache, with progress", function()
    local dir = _host.core.make_temp_dir("/tmp", "oci-spec")
    run({ "mkdir", "-p", dir .. "/root/etc" })
    banger.fs.write(dir .. "/root/etc/hello", "hi\n")
    run({ "tar", "-C", dir .. "/root", "-cf", dir .. "/layer.tar", "." })
    run({ "umoci", "init", "--layout", dir .. "/img" })
    run({ "umoci", "new", "--image", dir .. "/img:t" })
    run({ "umoci", "raw", "add-layer", "--image", dir .. "/img:t", dir .. "/layer.tar" })
    local seen = {}
    local img = oci.pull("oci:" .. dir .. "/img:t", {
      cache_dir = dir .. "/cache",
      progress = function(digest, done, total) seen[digest] = { done, total } end,
    })
    expect.eq(#img.layers, 1)
    local l = img.layers[1]
    expect.eq(l.compression, "gzip")
    expect.eq(l.path, dir .. "/cache/blobs/sha256/" .. l.digest:sub(8))
    expect.eq(seen[l.digest][1], l.size)
    expect.eq(img.platform, "linux/amd64")
    expect.eq(img.source.transport, "oci")
    expect.truthy(img.manifest_digest:match("^sha256:%x+$"))
    expect.eq(type(img.config.rootfs.diff_ids), "table")
    -- A progress callback's error stops the pull and comes back as is.
    expect.error(function()
      oci.pull("oci:" .. dir .. "/img:t", {
        cache_dir = dir .. "/cache2",
        progress = function() banger.errors.raise("conflict", "stop here") end,
      })
    end, "conflict", "pulling oci:" .. dir .. "/img:t: stop here")
    expect.error(function() oci.pull("oci:" .. dir .. "/img:nope", { cache_dir = dir .. "/cache" }) end,
      "not_found", "~no image tagged \"nope\"")
    banger.fs.remove(dir)
  end)
end)
