--- Images: root filesystems (ext4) made from OCI images or the catalog,
--- recorded in the state index under a name.
local errors = require("banger.errors")
local store = require("banger.store")
local json = require("banger.json")
local fs = require("banger.fs")

local M = {}

local NAME_PATTERN = "^[a-z0-9][a-z0-9._-]*$"

--- Checks an image name (lowercase letters, digits, ".", "_", "-"; at most 63).
---@param name string
function M.check_name(name)
  if type(name) ~= "string" or #name > 63 or not name:match(NAME_PATTERN) then
    errors.raise("invalid_input", ("invalid image name '%s'"):format(tostring(name)),
      "use lowercase letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit")
  end
end

--- The image catalog: names like `debian-bookworm` mapped to sources
--- (catalog/images.json, embedded; entries in $XDG_CONFIG_HOME/banger/images.json win).
---@return table<string, table>
function M.catalog() return require("banger.catalog").load("images") end

--- Registry settings from $XDG_CONFIG_HOME/banger/config.json:
---   { "registries": { "insecure": ["host:port", ...],
---                     "mirrors": { "docker.io": ["mirror.example:5000"] },
---                     "docker_config": "/path/config.json", "ca_file": "/path/ca.pem" } }
---@return table options for banger.oci.pull
function M.registry_options()
  local path = _host.core.paths().config_home .. "/config.json"
  if not fs.exists(path) then return {} end
  local ok, cfg = pcall(json.decode, fs.read(path))
  if not ok or type(cfg) ~= "table" then
    errors.raise("invalid_input", ("malformed banger config %s"):format(path), "fix or remove the file")
  end
  local r = cfg.registries or {}
  return { insecure = r.insecure, mirrors = r.mirrors, docker_config = r.docker_config, ca_file = r.ca_file }
end

--- What REF names: a catalog entry ({kind="catalog", name=, entry=}) or an
--- OCI reference ({kind="oci", ref=parsed}).
---@param text string
---@return table
function M.resolve_source(text)
  local entry = M.catalog()[text]
  if entry then return { kind = "catalog", name = text, entry = entry } end
  return { kind = "oci", ref = require("banger.oci").parse(text) }
end

--- The default image name for a source: `debian:bookworm` -> `debian-bookworm`,
--- `host:5000/a/b:tag` -> `b-tag`, `x@sha256:abcd...` -> `x-abcdabcdabcd`.
---@param source table from resolve_source
---@return string
function M.default_name(source)
  if source.kind == "catalog" then return source.name end
  local r = source.ref
  local repo = (r.repository or r.path or "image"):match("([^/]+)$") or "image"
  local suffix = r.tag
  if (not suffix or suffix == "") and r.digest then suffix = r.digest:match(":(%x+)$"):sub(1, 12) end
  local name = suffix and suffix ~= "" and (repo .. "-" .. suffix) or repo
  name = name:lower():gsub("[^a-z0-9._-]", "-"):gsub("^[^a-z0-9]+", "")
  return name:sub(1, 63)
end

---@return table[] records sorted by name
function M.list() return store.list("image") end

---@param name string
---@return table|nil
function M.get(name) return store.get("image", name) end

--- The image record, or a not_found error that says how to get it.
---@param name string
---@return table
function M.require(name)
  local rec = M.get(name)
  if not rec then
    local hint = M.catalog()[name] and ("pull it with 'banger image pull " .. name .. "'")
      or "list images with 'banger image ls', or pull one with 'banger image pull REF'"
    local known = {}
    for _, r in ipairs(M.list()) do known[#known + 1] = r.name end
    for n in pairs(M.catalog()) do known[#known + 1] = n end
    table.sort(known)
    local near = require("banger.suggest").closest(tostring(name), known)
    if near and near ~= name then hint = ("did you mean '%s'? %s"):format(near, hint) end
    errors.raise("not_found", ("no image named '%s'"):format(name), hint)
  end
  return rec
end

--- True when `text` names an image by reference (it has a registry, tag,
--- digest or transport: `debian:bookworm`, `host:5000/a/b`, `oci:DIR`),
--- which VM commands pull when it is missing. A bare word names a local
--- image or a catalog entry: a typo is not sent to a registry.
---@param text string
---@return boolean
function M.is_reference(text) return text:find("[:/@]") ~= nil end

--- The name an image is known by here: itself, or for a reference the name
--- it is pulled as (default_name: `debian:bookworm` -> `debian-bookworm`).
--- Raises invalid_input for a malformed reference.
---@param text string
---@return string
function M.local_name(text)
  if M.get(text) or not M.is_reference(text) then return text end
  return M.default_name(M.resolve_source(text))
end

--- Raises not_found unless `name` is an image, a catalog entry or an image
--- reference (which a VM create pulls); invalid_input for a bad reference.
---@param name string
function M.check_known(name)
  if M.get(M.local_name(name)) or M.catalog()[name] or M.is_reference(name) then return end
  M.require(name)
end

--- Opens an image's root filesystem for reading (or editing with write=true).
---@param name string
---@param write? boolean
function M.open(name, write)
  return require("banger.ext4").open(M.require(name).rootfs, { write = write or false })
end

--- Entries of a directory inside an image.
---@param name string
---@param path? string default "/"
---@return table[]
function M.ls_files(name, path)
  local img = M.open(name)
  local ok, entries = pcall(img.ls, img, path or "/")
  img:close()
  if not ok then errors.rethrow(entries, ("image %s"):format(name)) end
  return entries
end

-- Follows symlinks inside the image (as `cat` would), confined to it.
local function resolve_links(img, path)
  for _ = 1, 40 do
    local st = img:stat(path)
    if st.type ~= "symlink" then return path end
    local target = st.target
    if target:sub(1, 1) ~= "/" then target = fs.dirname(path) .. "/" .. target end
    local parts = {}
    for part in target:gmatch("[^/]+") do
      if part == ".." then table.remove(parts)
      elseif part ~= "." then parts[#parts + 1] = part end
    end
    path = "/" .. table.concat(parts, "/")
  end
  errors.raise("invalid_input", ("too many levels of symbolic links at %s"):format(path))
end

--- A file's contents from inside an image (symlinks followed inside it).
---@param name string
---@param path string
---@return string
function M.cat(name, path)
  local img = M.open(name)
  local ok, data = pcall(function() return img:read(resolve_links(img, path)) end)
  img:close()
  if not ok then errors.rethrow(data, ("image %s"):format(name)) end
  return data
end

--- Removes an image unless a VM uses it; its warm snapshots go with it.
---@param name string
function M.rm(name)
  local rec = M.require(name)
  for _, vm in ipairs(store.list("vm")) do
    if vm.image == name then
      errors.raise("conflict", ("image '%s' is used by VM '%s'"):format(name, vm.name),
        ("remove the VM first: 'banger vm rm %s'"):format(vm.name))
    end
  end
  require("banger.warm").prune({ image = name })
  store.remove("image", name)
  fs.remove(rec.dir)
end

--- Publishes `disk` (a VM's qcow2 overlay, or any disk QEMU reads) as the
--- new image `name`: flattened whole into a staging directory (sparse),
--- banger's current agent injected, then renamed into place with its
--- record in one transaction. Nothing is left of a publish that fails.
--- `record` adds fields (ref, source, ...); `what` names the disk in errors.
--- With `replace`, an image `name` (which no VM may use) is removed just
--- before the new one is published, once that one is whole.
---@param name string
---@param disk string
---@param record table
---@param what string
---@param replace? boolean
---@return table record
function M.publish_disk(name, disk, record, what, replace)
  M.check_name(name)
  if M.get(name) and not replace then
    errors.raise("conflict", ("image '%s' already exists"):format(name),
      ("choose another name, or remove it with 'banger image rm %s'"):format(name))
  end
  store.reclaim_staging()
  local staging, hold = store.staging("image-" .. name)
  local ok, err = pcall(function()
    local rootfs = staging .. "/rootfs.ext4"
    _host.vmm.flatten_disk(disk, rootfs, what)
    record.agent = require("banger.agent").inject(rootfs).path
    local final = store.paths().images .. "/" .. name
    record.dir, record.rootfs = final, final .. "/rootfs.ext4"
    local st = fs.stat(rootfs)
    record.size, record.content_bytes = st.size, st.allocated
    if replace and M.get(name) then M.rm(name) end
    hold:release()
    store.publish("image", name, staging, final, record)
  end)
  if not ok then
    fs.remove(staging)
    hold:release()
    error(err, 0)
  end
  record.name = name
  return record
end

--- The blobs (manifests, configs, layers) that image records still need.
---@return table<string, boolean> digest -> true
local function needed_blobs()
  local needed = {}
  for _, rec in ipairs(M.list()) do
    for _, d in ipairs(rec.blobs or {}) do needed[d] = true end
  end
  return needed
end

--- Removes what no VM or build needs: the build stage caches no image was
--- built from (with `all`: every cache, and every image no VM or snapshot
--- uses), then the cached blobs no image record lists. Blobs stay while a
--- pull is under way (its staging directory is live). Returns the images
--- removed and the blobs' count and bytes.
---@param all? boolean
---@return {images:string[], blobs:integer, bytes:integer, kept_for_pull:boolean}
function M.prune(all)
  local removed = require("banger.build").prune_caches(all)
  if all then
    local used = {}
    for _, vm in ipairs(store.list("vm")) do used[vm.image] = true end
    for _, snap in ipairs(store.list("snapshot")) do
      if not require("banger.warm").is_warm(snap) then used[snap.image] = true end
    end
    for _, rec in ipairs(M.list()) do
      if not used[rec.name] and pcall(M.rm, rec.name) then removed[#removed + 1] = rec.name end
    end
  end
  table.sort(removed)
  local out = { images = require("banger.json").array(removed), blobs = 0, bytes = 0, kept_for_pull = false }
  store.reclaim_staging()
  local paths = store.paths()
  if #fs.list(paths.staging) > 0 then
    out.kept_for_pull = true  -- its layers may be in the cache but in no record yet
    return out
  end
  local needed = needed_blobs()
  local dir = paths.blobs .. "/sha256"
  if not fs.is_dir(dir) then return out end
  for _, n in ipairs(fs.list(dir)) do
    local hex = n:match("^(%x+)$") or n:match("^(%x+)%.partial$")
    if hex and not needed["sha256:" .. hex] then
      local st = fs.stat(dir .. "/" .. n)
      fs.remove(dir .. "/" .. n)
      out.blobs, out.bytes = out.blobs + 1, out.bytes + (st and st.allocated or 0)
    end
  end
  return out
end

--- Pulls an image through the image_pull recipe (a project's override wins).
---@param ref string
---@param opts? {name?:string, size?:integer, platform?:string}
---@return table record
function M.pull(ref, opts)
  opts = opts or {}
  local r = require("banger.recipe").load("image_pull")
  return r:call({ ref = ref, name = opts.name, size = opts.size, platform = opts.platform })
end

--- Builds a Debian root filesystem tarball with mmdebstrap from Debian's archive.
---@param entry table catalog entry {suite=, variant=, include={...}}
---@param out string tar path
function M.debootstrap_tar(entry, out)
  local suite = entry.suite or "bookworm"
  if not _host.core.find_executable("mmdebstrap") then
    errors.raise("not_found", "mmdebstrap is not installed (needed to build Debian images from the archive)",
      "install it: apt-get install mmdebstrap (or run scripts/install-deps.sh)")
  end
  -- The mode is chosen here, not by mmdebstrap's `auto`, so that what a
  -- user lacks is named (host/doctor/build_mode.h).
  local mode = _host.doctor.mmdebstrap_mode()
  if #mode.missing > 0 then
    errors.raise("unsupported", ("building Debian %s as a normal user needs mmdebstrap's unshare mode, which needs %s"):format(
      suite, table.concat(mode.missing, "; ")), mode.fix .. " ('banger doctor' checks it)")
  end
  local argv = { "mmdebstrap", "--quiet", "--mode=" .. mode.mode, "--variant=" .. (entry.variant or "minbase") }
  if entry.include and #entry.include > 0 then argv[#argv + 1] = "--include=" .. table.concat(entry.include, ",") end
  argv[#argv + 1] = "--format=tar"
  argv[#argv + 1] = suite
  argv[#argv + 1] = out
  if entry.mirror then argv[#argv + 1] = entry.mirror end
  local r = require("banger.process").run(argv)
  _host.core.check_interrupted()
  if r.code ~= 0 then
    local tail = r.err:sub(-1500):gsub("%s+$", "")
    errors.raise("network", ("building Debian %s with mmdebstrap failed (exit %d): %s"):format(
      suite, r.code, tail), "check that Debian's archive is reachable ('apt-get update'), and 'banger doctor'")
  end
end

return M
