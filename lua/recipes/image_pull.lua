-- banger image pull REF: an OCI image (or a catalog image such as
-- debian-bookworm) becomes a bootable ext4 root disk, published atomically.
--
-- Stages (hook them from a project recipe with recipe.base():extend{...}):
--   resolve  REF -> a source (catalog entry or parsed OCI reference)
--   pull     the layers: from a registry / OCI layout, or built with mmdebstrap
--   build    layers -> staging/rootfs.ext4 (streamed; nothing extracted)
--   inject   the guest agent into the image
--   publish  rename into place + record in the index, in one transaction
local errors = banger.errors
local image = banger.image

return recipe.new {
  description = "Pull an image (OCI reference or catalog name) and build its root disk",
  params = {
    { "ref", positional = true, required = true, metavar = "REF",
      help = "debian:bookworm, host:5000/repo:tag, repo@sha256:..., oci:DIR[:tag], or a catalog name (debian-bookworm)" },
    { "name", help = "image name (default: from REF, debian:bookworm -> debian-bookworm)" },
    -- 16 TiB: the largest ext4 image file with 4 KiB blocks.
    { "size", type = "size", max = 16 * 1024 ^ 4, help = "root disk size, e.g. 4G (default: max(content x 1.25, 1G))" },
    { "platform", help = "os/arch[/variant] to choose from a multi-platform image (default: linux/amd64)" },
  },
  stages = { "resolve", "pull", "build", "inject", "publish" },
  run = function(ctx, args)
    local source = ctx:stage("resolve", function() return image.resolve_source(args.ref) end)
    local name = args.name or image.default_name(source)
    image.check_name(name)
    if image.get(name) then
      errors.raise("conflict", ("image '%s' already exists"):format(name),
        ("choose another name with --name, or remove it with 'banger image rm %s'"):format(name))
    end

    local paths = banger.store.paths()
    -- What killed pulls left behind goes first: it may be what fills the disk.
    banger.store.reclaim_staging()
    local staging, hold = banger.store.staging("pull-" .. name)
    ctx:defer(function()
      banger.fs.remove(staging)
      hold:release()
    end)

    local pulled = ctx:stage("pull", function()
      if source.kind == "catalog" then
        local tar = staging .. "/rootfs.tar"
        banger.progress.note(("building %s from Debian's archive with mmdebstrap"):format(source.name))
        image.debootstrap_tar(source.entry, tar)
        return { ref = source.name, layers = { { path = tar, compression = "none", digest = "mmdebstrap:" .. source.name } } }
      end
      local opts = image.registry_options()
      opts.platform = args.platform
      opts.image_size = args.size  -- checked against the manifest before any layer download
      return banger.oci.pull(args.ref, opts)
    end)

    local rootfs = staging .. "/rootfs.ext4"
    local built = ctx:stage("build", function()
      -- sync: the image is on disk before the index says it exists.
      return banger.ext4.build(pulled.layers, rootfs, { size = args.size, sync = true })
    end)
    if source.kind == "catalog" then banger.fs.remove(staging .. "/rootfs.tar") end

    local agent = ctx:stage("inject", function() return banger.agent.inject(rootfs) end)

    local final = paths.images .. "/" .. name
    -- The cached blobs this image came from: 'image prune' keeps them.
    local blobs = {}
    local function keep(d)
      if type(d) == "string" and d:match("^sha256:%x+$") then blobs[#blobs + 1] = d end
    end
    keep(pulled.manifest_digest)
    keep(pulled.config_digest)
    keep(pulled.index_digest)
    for _, l in ipairs(pulled.layers) do keep(l.digest) end
    local record = {
      blobs = blobs,
      ref = args.ref,
      source = source.kind,
      manifest_digest = pulled.manifest_digest,
      platform = pulled.platform,
      layers = #pulled.layers,
      dir = final,
      rootfs = final .. "/rootfs.ext4",
      size = built and built.image_bytes,
      content_bytes = built and built.content_bytes,
      agent = agent.path,
    }
    ctx:stage("publish", function()
      hold:release()
      banger.store.publish("image", name, staging, final, record)
    end)
    record.name = name
    ctx:emit(record, function(r) return ("pulled %s as image '%s'"):format(args.ref, r.name) end)
    return record
  end,
}
