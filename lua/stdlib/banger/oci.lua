--- OCI images: parse references and pull images into the blob cache shared
--- by all images. Every manifest and blob is verified against its digest.
---
---   local ref = oci.parse("debian:bookworm")
---   --> {transport="docker", registry="registry-1.docker.io",
---   --   repository="library/debian", tag="bookworm",
---   --   canonical="registry-1.docker.io/library/debian:bookworm"}
---   local img = oci.pull("127.0.0.1:5000/demo:v1", { platform = "linux/amd64" })
---   for _, l in ipairs(img.layers) do print(l.digest, l.compression, l.path) end

local M = {}

---@class banger.oci.Ref
---@field transport string "docker" | "oci" | "oci-archive" | "docker-archive"
---@field registry? string "registry-1.docker.io", "127.0.0.1:5000"
---@field repository? string "library/debian"
---@field tag? string "latest" (absent when pinned by digest alone)
---@field digest? string "sha256:<64 hex>"
---@field path? string the directory or archive of the local transports
---@field canonical string the canonical form; parses back to the same ref

---@class banger.oci.Layer
---@field digest string "sha256:..."
---@field size integer bytes of the stored (compressed) blob
---@field media_type string
---@field compression string "none" | "gzip" | "zstd"
---@field path string the blob in the cache
---@field diff_id string the config's digest of the uncompressed tar ("" if none); ext4.build checks it

---@class banger.oci.Image
---@field ref string the canonical ref
---@field source banger.oci.Ref
---@field manifest_digest string
---@field manifest_media_type string
---@field index_digest? string the index / manifest list the manifest was chosen from
---@field config_digest string
---@field config table the image config (Env, Cmd, rootfs.diff_ids, ...)
---@field platform string "linux/amd64"
---@field layers banger.oci.Layer[] in order, bottom first
---@field downloaded_bytes integer 0 when everything was cached
---@field downloaded_blobs integer

---@class banger.oci.PullOpts
---@field platform? string "os/arch[/variant]" to choose from an index (strict); default linux/amd64
---@field cache_dir? string holds blobs/sha256/; default $BANGER_HOME
---@field progress? fun(digest:string, done:integer, total:integer)|boolean a callback, or false for silence; default: the shared progress bars
---@field parallel? integer layer downloads at once (default 4)
---@field timeout? number seconds for the whole pull (default 3600)
---@field retries? integer attempts per request on 429/5xx/broken connections (default 5)
---@field insecure? string[] registry hosts spoken to over plain HTTP (loopback always is)
---@field mirrors? table<string, string[]> registry host -> mirrors tried first ("host:port" or "https://host:port")
---@field docker_config? string the docker config.json with credentials (default $DOCKER_CONFIG/config.json or ~/.docker/config.json)
---@field ca_file? string an extra CA bundle for HTTPS registries
---@field image_size? integer the root disk size the image will be built at: a size that cannot hold it fails before any layer download

--- Parses an image reference: docker-style (`debian`, `debian:bookworm`,
--- `host:5000/a/b:tag`, `name@sha256:...`) with docker's defaults, or
--- `oci:DIR[:tag]`, `oci-archive:FILE[:tag]`, `docker-archive:FILE`.
--- Raises invalid_input naming the ref and what is wrong with it.
---@param ref string
---@return banger.oci.Ref
function M.parse(ref)
  -- Arguments are checked once, by the host (bindings/oci.cc).
  return _host.oci.parse(ref)
end

--- Pulls an image into the blob cache: registry refs over HTTP(S) (anonymous,
--- bearer token or basic auth from docker's config.json; resumable, parallel
--- downloads), and the local transports (their blobs are copied and
--- verified). Errors name the ref: "pulling REF: manifest unknown".
---@param ref string
---@param opts? banger.oci.PullOpts
---@return banger.oci.Image
function M.pull(ref, opts)
  return _host.oci.pull(ref, opts)
end

return M
