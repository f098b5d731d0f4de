--- ext4 root filesystems: build one from image layers in one streamed pass
--- (nothing extracted to the host, exact owners without root), and read or
--- edit one without mounting it.
---
---   local stats = ext4.build(img.layers, "/tmp/rootfs.ext4", { size = 4 * 2^30 })
---   local fs = ext4.open("/tmp/rootfs.ext4", { write = true })
---   fs:write("/etc/hostname", "sandbox\n", { mode = tonumber("644", 8) })
---   print(fs:read("/etc/os-release"))
---   fs:close()

local M = {}

---@class banger.ext4.Layer
---@field path? string the layer file (or `fd`)
---@field fd? integer a stream read to its end, e.g. a pipe from mmdebstrap
---@field compression? string "gzip" | "zstd" | "none"; detected when absent
---@field digest? string names the layer in errors ("sha256:...")
---@field diff_id? string the uncompressed tar's digest the image config promises; checked

---@class banger.ext4.BuildOpts
---@field size? integer image bytes; default max(content x 1.25, 1 GiB)
---@field journal? boolean default true
---@field label? string filesystem label
---@field uuid? string fixed filesystem UUID (32 hex digits): with `timestamp`, reproducible images
---@field timestamp? integer creation time for the filesystem and made-up directories (SOURCE_DATE_EPOCH)
---@field sync? boolean fsync the image before returning (default false)
---@field progress? boolean progress bars per layer (default true)

---@class banger.ext4.BuildStats
---@field path string
---@field image_bytes integer the image file's size (sparse)
---@field content_bytes integer what the entries take
---@field data_bytes integer regular file bytes
---@field entries integer
---@field files integer
---@field dirs integer
---@field symlinks integer
---@field hardlinks integer
---@field others integer devices and fifos
---@field removed integer entries removed by later layers
---@field layers integer
---@field compressed_bytes integer
---@field seconds number

--- Builds an ext4 image at `path` from layers applied in order with OCI
--- semantics (whiteouts, opaque directories, hard links, devices, xattrs).
--- Each layer is decompressed once; `path` is replaced, and removed again
--- on any error. Raises invalid_input for a bad layer (naming the layer and
--- the path inside it) and io for an image too small.
---@param layers banger.ext4.Layer[] bottom first
---@param path string
---@param opts? banger.ext4.BuildOpts
---@return banger.ext4.BuildStats
function M.build(layers, path, opts)
  -- The arguments are checked once, by the host (bindings/ext4.cc).
  return _host.ext4.build(layers, path, opts)
end

---@class banger.ext4.Entry
---@field name string
---@field type string "file" | "dir" | "symlink" | "chardev" | "blockdev" | "fifo" | "socket"
---@field ino integer

---@class banger.ext4.Stat
---@field type string
---@field mode integer permission bits (setuid/setgid/sticky included)
---@field uid integer
---@field gid integer
---@field size integer
---@field nlink integer
---@field ino integer
---@field mtime number seconds (fractional)
---@field atime number
---@field ctime number
---@field target? string symlinks
---@field dev_major? integer devices
---@field dev_minor? integer
---@field xattrs table<string, string>

---@class banger.ext4.Image
--- Paths are absolute inside the image. Intermediate symlinks are followed
--- (confined to the image); the last component never is: stat describes a
--- symlink, write replaces one, rm removes one.
---@field ls fun(self, dir?:string): banger.ext4.Entry[] sorted by name
---@field stat fun(self, path:string): banger.ext4.Stat
---@field exists fun(self, path:string): boolean
---@field read fun(self, path:string): string a regular file's bytes
---@field write fun(self, path:string, data:string, opts?:{mode?:integer, uid?:integer, gid?:integer}) creates or replaces a file (mode default 0644)
---@field mkdir fun(self, path:string, opts?:{mode?:integer, uid?:integer, gid?:integer, parents?:boolean})
---@field symlink fun(self, path:string, target:string, opts?:{uid?:integer, gid?:integer})
---@field chmod fun(self, path:string, mode:integer)
---@field chown fun(self, path:string, uid:integer, gid:integer)
---@field rm fun(self, path:string, opts?:{recursive?:boolean})
---@field close fun(self) writes back (when writable) and closes; idempotent

--- Opens an image to read it, or to edit it with {write = true}.
---@param path string
---@param opts? {write?:boolean}
---@return banger.ext4.Image
function M.open(path, opts)
  return _host.ext4.open(path, opts)
end

return M
