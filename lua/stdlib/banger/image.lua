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
