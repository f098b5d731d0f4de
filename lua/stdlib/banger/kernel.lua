--- Kernels: the catalog, pulling a kernel package into a kernel directory,
--- resolving a kernel to checked files, and building banger's initramfs.
---
--- A kernel directory ($BANGER_HOME/kernels/NAME/) holds `kernel.json` (the
--- manifest), `vmlinuz`, `modules/<version>/` and, for imported kernels, an
--- `initrd.img`. `pull` and `import` write into a staging directory the
--- caller then publishes (store.publish); they never touch the index.
---
---   local m = kernel.pull("debian-cloud", kernel.catalog()["debian-cloud"], staging)
---   local t = kernel.resolve({ name = "debian-cloud", dir = final_dir })
---   kernel.build_initramfs({ init = agent, modules_dir = t.modules, out = dir .. "/initrd.img" })
local errors = require("banger.errors")
local fs = require("banger.fs")

local M = {}
local K = _host.kernel

---@class banger.kernel.CatalogEntry
---@field description? string
---@field source string "apt" | "url" | "local"
---@field package? string apt: the package, e.g. "linux-image-cloud-amd64" (a metapackage is followed to linux-image-<version>)
---@field url? string url: a .deb, a tar archive (vmlinuz*, lib/modules/<version>/) or a bare bzImage
---@field sha256? string url: the archive's sha256, checked before use (required)
---@field kernel? string local: path of the bzImage
---@field initrd? string local: path of an initrd
---@field modules? string local: lib/modules/<version> (or lib/modules)

---@class banger.kernel.Manifest
---@field name string
---@field version string kernel release, e.g. "6.1.0-56-cloud-amd64"
---@field source string "apt" | "url" | "local"
---@field origin string package name, URL or original path
---@field origin_version string package version, or the archive's sha256
---@field kernel string path relative to the kernel directory ("vmlinuz")
---@field initrd? string relative path, when the kernel came with one
---@field modules? string relative path ("modules/<version>")
---@field bytes integer disk use of the directory

---@class banger.kernel.Spec
---@field name? string store/catalog name: used in messages and hints ("banger kernel pull NAME")
---@field dir? string a kernel directory (with kernel.json)
---@field kernel? string explicit bzImage path (overrides the directory's)
---@field initrd? string explicit initrd path
---@field modules? string explicit lib/modules/<version> (or lib/modules) directory

---@class banger.kernel.Triple
---@field kernel string absolute path of the checked bzImage
---@field initrd? string absolute path, when there is one
---@field modules? string absolute lib/modules/<version> directory, when there is one
---@field version string kernel release read from the bzImage header
---@field banner string the kernel's whole version banner

---@class banger.kernel.Module
---@field name string module name ("virtio_net")
---@field path string path relative to the modules directory

---@class banger.kernel.InitramfsOpts
---@field init string the /init binary (the guest agent)
---@field modules_dir? string lib/modules/<version> of the kernel; nil: no modules
---@field version? string kernel release (default: last component of modules_dir)
---@field out string output path (written atomically)
---@field compression? string "zstd" (default) | "gzip" | "none"
---@field modules? string[] required modules (default: virtio_mmio, virtio_blk, virtio_net, virtio_console); dependencies are added
---@field optional_modules? string[] loaded when the kernel has them (default: virtio_rng, vsock, vmw_vsock_virtio_transport)
---@field mtime? integer timestamp of every entry (default 0: reproducible output)

---@class banger.kernel.Initramfs
---@field path string
---@field bytes integer compressed size
---@field content_bytes integer size of the files inside
---@field version string
---@field modules banger.kernel.Module[] in load order, as listed in /etc/banger/modules

local function check_string(fn, what, v, optional)
  if v == nil and optional then return end
  if type(v) ~= "string" or v == "" then
    errors.raise("invalid_input", ("kernel.%s: %s must be a non-empty string"):format(fn, what))
  end
end

local function check_table(fn, what, v)
  if type(v) ~= "table" then
    errors.raise("invalid_input", ("kernel.%s: %s must be a table"):format(fn, what))
  end
end

--- The kernel catalog: names like `debian-cloud` mapped to sources
--- (catalog/kernels.json, embedded; entries in $XDG_CONFIG_HOME/banger/kernels.json win).
---@return table<string, banger.kernel.CatalogEntry>
function M.catalog() return require("banger.catalog").load("kernels") end

--- Runs `fill(staging_dir) -> manifest` in a fresh staging directory and
--- publishes the result as kernel `name` (rename + index record, atomically).
--- A name in use is a conflict; on failure nothing is left behind.
---@param name string
---@param fill fun(staging:string):table
---@return table record
function M.publish(name, fill)
  local store = require("banger.store")
  if store.get("kernel", name) then
    errors.raise("conflict", ("kernel '%s' already exists"):format(name),
      ("remove it first: 'banger kernel rm %s'"):format(name))
  end
  local paths = store.paths()
  store.reclaim_staging()
  local staging, hold = store.staging("kernel-" .. name)
  local ok, result = pcall(function()
    local m = fill(staging)
    local final = paths.kernels .. "/" .. name
    local record = { dir = final, version = m.version, source = m.source, origin = m.origin,
                     origin_version = m.origin_version, bytes = m.bytes }
    hold:release()
    store.publish("kernel", name, staging, final, record)
    record.name = name
    return record
  end)
  fs.remove(staging)
  hold:release()
  if not ok then error(result, 0) end
  return result
end

--- Fetches the kernel a catalog entry describes into `dest_dir` (a staging
--- directory) and writes its manifest. apt sources need apt-get (network
--- errors hint at `apt-get update`); url sources are verified against their
--- sha256 before anything is unpacked.
---@param name string
---@param entry banger.kernel.CatalogEntry
---@param dest_dir string
---@return banger.kernel.Manifest
function M.pull(name, entry, dest_dir)
  check_string("pull", "name", name)
  check_table("pull", "entry", entry)
  check_string("pull", "dest_dir", dest_dir)
  return K.pull(name, entry, dest_dir)
end

--- Copies a kernel (and optional initrd and modules) into `dest_dir` after
--- checking them like `resolve` does, and writes the manifest.
---@param name string
---@param spec {kernel:string, initrd?:string, modules?:string}
---@param dest_dir string
---@return banger.kernel.Manifest
function M.import(name, spec, dest_dir)
  check_string("import", "name", name)
  check_table("import", "spec", spec)
  check_string("import", "spec.kernel", spec.kernel)
  check_string("import", "spec.initrd", spec.initrd, true)
  check_string("import", "spec.modules", spec.modules, true)
  check_string("import", "dest_dir", dest_dir)
  return K.import(name, spec, dest_dir)
end

--- Reads a kernel directory's manifest (kernel.json).
---@param dir string
---@return banger.kernel.Manifest
function M.manifest(dir)
  check_string("manifest", "dir", dir)
  return K.manifest(dir)
end

--- Resolves a kernel to checked files: the kernel exists and is a bzImage
--- (not truncated), the initrd exists, the modules match the kernel's
--- version. Errors name the file and say how to fix it.
---@param spec banger.kernel.Spec
---@return banger.kernel.Triple
function M.resolve(spec)
  check_table("resolve", "spec", spec)
  for _, k in ipairs({ "name", "dir", "kernel", "initrd", "modules" }) do
    check_string("resolve", k, spec[k], true)
  end
  if not spec.dir and not spec.kernel then
    errors.raise("invalid_input", "kernel.resolve: give a kernel directory (dir) or a kernel path (kernel)")
  end
  return K.resolve(spec)
end

--- The version and banner in a bzImage's header (raises for a non-bzImage).
---@param path string
---@return {version:string, banner:string, protocol:integer}
function M.inspect(path)
  check_string("inspect", "path", path)
  return K.inspect(path)
end

--- The modules to load for `names` (default: the guest's), dependencies
--- first, from each module's .modinfo (no modules.dep needed).
---@param modules_dir string lib/modules/<version>
---@param names? string[] required module names
---@param optional? string[] names loaded only when present
---@return banger.kernel.Module[]
function M.modules(modules_dir, names, optional)
  check_string("modules", "modules_dir", modules_dir)
  return K.modules(modules_dir, names, optional)
end

--- Builds banger's initramfs: cpio newc, zstd or gzip; `/init` is
--- `opts.init`, the needed modules sit under /lib/modules/<version>/ (always
--- decompressed .ko) and `/etc/banger/modules` lists their absolute paths
--- in load order, one per line, for /init to finit_module them.
---@param opts banger.kernel.InitramfsOpts
---@return banger.kernel.Initramfs
function M.build_initramfs(opts)
  check_table("build_initramfs", "opts", opts)
  check_string("build_initramfs", "init", opts.init)
  check_string("build_initramfs", "out", opts.out)
  check_string("build_initramfs", "modules_dir", opts.modules_dir, true)
  check_string("build_initramfs", "compression", opts.compression, true)
  return K.build_initramfs(opts)
end

--- Kernel command-line arguments a guest under software emulation (TCG)
--- needs: `tsc_early_khz=<host TSC rate>`. Without it the Debian kernel can
--- hang calibrating its clock on a busy host.
---@return string[]
function M.tcg_boot_args()
  return K.tcg_boot_args()
end

return M
