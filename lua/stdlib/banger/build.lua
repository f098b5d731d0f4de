--- Image builds: a build file (default `.banger/image.lua`) returns a table
--- that says how an image is made from another, and `banger image build`
--- (the image_build recipe) makes it:
---
---     return {
---       name = "myproj-dev", from = "debian-bookworm",
---       packages = { "git", "make" },
---       files = { { path = "/etc/motd", content = "myproj\n", mode = "0644" } },
---       run = { "useradd -m dev", "make -C /work deps" },
---       workspace = true,
---     }
---
--- Keys: name (the image made), from (an image, catalog name, OCI
--- reference, or another build file, relative to this one), packages
--- (Debian packages), files (`{path=, content=}` or `{path=, source=}`, a
--- host file or directory relative to the build file; optional `mode` such
--- as "0755" and `owner` such as "dev:dev"), run (shell commands run as root
--- in a VM, in order), env (NAME = VALUE for the steps), size (the root
--- disk, default the base's plus 1G), workspace (true: the project at /work
--- for the steps; or a guest path), net (the steps' network: user, the
--- default, tap or none).
---
--- Packages come before files, files before steps. The packages are
--- resolved and downloaded by the host's apt against the base image's own
--- package list, and installed offline in a VM that has no network.
---
--- Cached by content: the image's key is a digest of the base image's
--- identity, the packages, the files' contents, the steps, env, size,
--- workspace, net and banger's version (the agent's). An unchanged file is
--- up to date; the image after the packages stage is kept (`build-HEX`,
--- shown by 'image ls --all'), so a change to the files or steps starts from
--- it. The project's files (workspace) are not in the key: `--rebuild` builds
--- anew.
local errors = require("banger.errors")
local fs = require("banger.fs")
local config_file = require("banger.config_file")
local store = require("banger.store")

local M = {}

--- Where a project keeps its image build file, relative to its root.
M.FILE = ".banger/image.lua"

--- The project's build file: the nearest `.banger/image.lua` from the
--- current directory upwards; a not_found error when there is none.
---@return string
function M.find_file()
  local dir = _host.core.cwd()
  while true do
    if fs.exists(dir .. "/" .. M.FILE) then return dir .. "/" .. M.FILE end
    if dir == "/" or dir == "" then break end
    dir = fs.dirname(dir)
  end
  errors.raise("not_found", ("no build file: %s is not in this directory or one above it"):format(M.FILE),
    "write one (see 'banger image build --help'), or give its path: 'banger image build FILE'")
end

--- The prefix of the images that cache a build's stages.
M.CACHE_PREFIX = "build-"

local function mode_value(v)
  if type(v) == "number" then return v end
  if type(v) == "string" and v:match("^0?[0-7][0-7][0-7][0-7]?$") then return tonumber(v, 8) end
  return nil
end

-- One entry of `files`: {path, content | source, mode?, owner?}.
local FILE_FIELDS = { path = true, content = true, source = true, mode = true, owner = true }

local function check_files(v, fail)
  if type(v) ~= "table" then fail("a list of { path = ..., content = ... } tables", type(v)) end
  local out = {}
  for i, f in ipairs(v) do
    local at = ("[%d]"):format(i)
    if type(f) ~= "table" then fail("a table { path = ..., content = ... }", type(f), at) end
    for k in pairs(f) do
      if not FILE_FIELDS[k] then fail("a table of path, content or source, mode, owner", ("the field '%s'"):format(tostring(k)), at) end
    end
    if type(f.path) ~= "string" or f.path:sub(1, 1) ~= "/" then
      fail("an absolute guest path", ("'%s'"):format(tostring(f.path)), at .. ".path")
    end
    if (f.content == nil) == (f.source == nil) then fail("a table with one of content and source", "both or neither", at) end
    if f.content ~= nil and type(f.content) ~= "string" then fail("a string", type(f.content), at .. ".content") end
    if f.source ~= nil and (type(f.source) ~= "string" or f.source == "") then
      fail("a host path", type(f.source), at .. ".source")
    end
    local mode = f.mode ~= nil and mode_value(f.mode)
    if f.mode ~= nil and not mode then fail("an octal mode such as \"0644\"", ("'%s'"):format(tostring(f.mode)), at .. ".mode") end
    if f.owner ~= nil and not (type(f.owner) == "string" and f.owner:match("^[%w_.-]+:?[%w_.-]*$")) then
      fail("USER or USER:GROUP", ("'%s'"):format(tostring(f.owner)), at .. ".owner")
    end
    out[i] = { path = f.path, content = f.content, source = f.source, mode = mode or nil, owner = f.owner }
  end
  return out
end

local function check_steps(v, fail)
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then fail("a list of shell commands", type(v)) end
  for i, s in ipairs(v) do
    if type(s) ~= "string" or s == "" then fail("a shell command", type(s), ("[%d]"):format(i)) end
  end
  return v
end

local function check_workspace(v, fail)
  if v == true then return "/work" end
  if v == false then return nil end
  if type(v) ~= "string" or v:sub(1, 1) ~= "/" then fail("true, false or a guest path such as /work", ("'%s'"):format(tostring(v))) end
  return v
end

local function check_net(v, fail)
  if v ~= "user" and v ~= "tap" and v ~= "none" then fail("user, tap or none", ("'%s'"):format(tostring(v))) end
  return v
end

local KEYS = {
  name = "string", from = "string", packages = "strings", files = check_files, run = check_steps,
  env = "env", size = "size", workspace = check_workspace, net = check_net,
}

--- Reads a build file (as a recipe file runs: `banger.*` in scope) and
--- checks it: `name` and `from` are required, sizes become bytes, `env` a
--- sorted list of NAME=VALUE, `run` a list, `workspace` a guest path or
--- nil, a file's `mode` a number. `dir` is the file's directory (sources
--- and a `from` build file are relative to it).
---@param path string
---@return table
function M.load(path)
  if not fs.exists(path) then
    errors.raise("not_found", ("no build file %s"):format(path),
      "write one (see 'banger image build --help'), or give its path: 'banger image build FILE'")
  end
  local spec = config_file.load(path, KEYS, {
    example = 'return { name = "myimage", from = "debian-bookworm", packages = { ... } }',
    help = "see 'banger image build --help' for the build file's keys",
  })
  for _, key in ipairs({ "name", "from" }) do
    if not spec[key] then
      errors.raise("invalid_input", ("%s: %s is missing"):format(path, key),
        "a build file says at least name = \"IMAGE\" and from = \"debian-bookworm\" (or another image)")
    end
  end
  require("banger.image").check_name(spec.name)
  if spec.name:sub(1, #M.CACHE_PREFIX) == M.CACHE_PREFIX then
    errors.raise("invalid_input", ("%s: the name '%s' starts with '%s', which is kept for build caches"):format(path, spec.name, M.CACHE_PREFIX),
      "choose another name")
  end
  spec.path = fs.realpath(path)
  spec.dir = fs.dirname(spec.path)
  spec.packages, spec.files, spec.run, spec.env = spec.packages or {}, spec.files or {}, spec.run or {}, spec.env or {}
  spec.net = spec.net or "user"
  return spec
end

--- True when `from` names another build file (a path ending in .lua).
---@param from string
---@return boolean
function M.is_build_file(from) return from:match("%.lua$") ~= nil end

--- What identifies an image's content for a build key: a built image's
--- key, else its manifest digest, else when and from where it was made.
---@param rec table an image record
---@return string
function M.identity(rec)
  return table.concat({ rec.name, rec.build_key or "", rec.manifest_digest or "", rec.created or 0, rec.rootfs or "" }, "\0")
end

local function digest(parts) return _host.core.sha256(table.concat(parts, "\0")) end

-- A file's part of the key: path, mode, owner and its content's digest (a
-- source directory: every file's relative path, mode and content).
local function file_key(spec, f)
  local head = table.concat({ f.path, f.mode or "", f.owner or "" }, "\0")
  if f.content then return head .. "\0c" .. _host.core.sha256(f.content) end
  local src = M.source_path(spec, f)
  local st = fs.stat(src)
  if not st then
    errors.raise("not_found", ("%s: files: no such host file %s"):format(spec.path, src),
      "a source is relative to the build file's directory")
  end
  if st.type ~= "dir" then return head .. "\0f" .. st.mode .. _host.core.sha256(fs.read(src)) end
  local parts = { head, "d" }
  local function walk(dir, rel)
    local names = fs.list(dir)
    table.sort(names)
    for _, n in ipairs(names) do
      local p, r = dir .. "/" .. n, rel .. "/" .. n
      local s = fs.stat(p)
      if s.type == "dir" then
        parts[#parts + 1] = r .. "/" .. s.mode
        walk(p, r)
      elseif s.type == "file" then
        parts[#parts + 1] = r .. ":" .. s.mode .. ":" .. _host.core.sha256(fs.read(p))
      else
        parts[#parts + 1] = r .. ":" .. s.type
      end
    end
  end
  walk(src, "")
  return table.concat(parts, "\0")
end

--- A file's `source` as a host path.
---@param spec table
---@param f table
---@return string
function M.source_path(spec, f) return f.source:sub(1, 1) == "/" and f.source or (spec.dir .. "/" .. f.source) end

--- The build's keys: `packages`, of the image after the packages stage
--- (nil without packages), and `final`, of the finished image. `base` is
--- the `from` image's record.
---@param spec table from load
---@param base table
---@return {packages:string|nil, final:string}
function M.keys(spec, base)
  local version = _host.core.version()
  local packages = table.concat(spec.packages, "\0")
  local start = digest({ "base", M.identity(base), version, spec.size or 0 })
  local after_packages = #spec.packages > 0 and digest({ "packages", start, packages }) or nil
  local files = {}
  for _, f in ipairs(spec.files) do files[#files + 1] = file_key(spec, f) end
  local final = digest({ "final", after_packages or start, #spec.files, table.concat(files, "\1"),
    #spec.run, table.concat(spec.run, "\1"), table.concat(spec.env, "\1"), spec.workspace or "", spec.net })
  return { packages = after_packages, final = final }
end

--- The name of the image that caches the stage whose key is `key`.
---@param key string
---@return string
function M.cache_name(key) return M.CACHE_PREFIX .. key:sub(8, 23) end

--- True for the images that cache build stages.
---@param rec table an image record
---@return boolean
function M.is_cache(rec) return rec.source == "build-cache" end

local function codename(os_release)
  return os_release and os_release:match("\nVERSION_CODENAME=\"?([%w]+)") or (os_release or ""):match("^VERSION_CODENAME=\"?([%w]+)")
end

--- Resolves `packages` for image `image_name` with the host's apt (its
--- sources and lists), against the image's own package list, and
--- downloads the .deb files missing from the image into `dir`/debs.
--- Returns their paths (none when the image has them all). The image must
--- be of the host's Debian release.
---@param image_name string
---@param packages string[]
---@param dir string a scratch directory
---@return string[]
function M.download_packages(image_name, packages, dir)
  local image = require("banger.image")
  local ok, status = pcall(image.cat, image_name, "/var/lib/dpkg/status")
  if not ok then
    errors.raise("unsupported", ("packages: image '%s' has no Debian package list (/var/lib/dpkg/status)"):format(image_name),
      "install the packages in a run step with the image's own package manager")
  end
  local _, guest_release = pcall(image.cat, image_name, "/etc/os-release")
  local host_release = fs.exists("/etc/os-release") and fs.read("/etc/os-release") or ""
  local want, have = codename(type(guest_release) == "string" and guest_release or nil), codename(host_release)
  if not want or want ~= have then
    errors.raise("unsupported",
      ("packages: image '%s' is Debian %s, and this host's apt knows %s's packages"):format(image_name, want or "(unknown)", have or "(none)"),
      "install them in a run step instead: \"apt-get update && apt-get install -y PKG\" (the steps have the network)")
  end
  if not _host.core.find_executable("apt-get") then
    errors.raise("not_found", "packages: apt-get is not installed on this host", "packages need a Debian host with apt")
  end
  fs.mkdirs(dir .. "/state")
  fs.mkdirs(dir .. "/cache")
  fs.mkdirs(dir .. "/debs/partial")
  fs.write(dir .. "/state/status", status)
  local argv = { "apt-get", "-q", "-y", "--download-only", "--no-install-recommends",
    "-o", "Dir::State::status=" .. dir .. "/state/status",
    "-o", "Dir::Cache=" .. dir .. "/cache", "-o", "Dir::Cache::archives=" .. dir .. "/debs",
    -- The host's own dpkg and apt state are neither locked nor touched.
    "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "install" }
  for _, p in ipairs(packages) do
    if not p:match("^[a-z0-9][a-z0-9+.-]*$") then
      errors.raise("invalid_input", ("packages: '%s' is not a Debian package name"):format(p),
        "names are lower case letters, digits and + . -")
    end
    argv[#argv + 1] = p
  end
  local r = _host.core.run(argv, {})
  if r.code ~= 0 then
    local lines = {}
    for line in (r.err .. "\n" .. r.out):gmatch("[^\n]+") do
      if line:match("^E: ") then lines[#lines + 1] = line:sub(4) end
    end
    errors.raise("not_found", "packages: the host's apt could not get them: " .. (#lines > 0 and table.concat(lines, "; ") or r.err),
      "check the names ('apt-cache policy NAME'); 'apt-get update' refreshes the host's package lists")
  end
  local debs = {}
  for _, n in ipairs(fs.list(dir .. "/debs")) do
    if n:match("%.deb$") then debs[#debs + 1] = dir .. "/debs/" .. n end
  end
  table.sort(debs)
  return debs
end

--- Installs the downloaded `debs` (download_packages: a directory of them)
--- in running VM `vm` with apt, offline, and removes them from the guest.
---@param client banger.vm.Client
---@param debs_dir string
function M.install_packages(client, debs_dir)
  local into = "/var/cache/banger-debs"
  client:copy_in(debs_dir, into)
  M.run_step(client, ("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends %s/*.deb && rm -rf %s && apt-get clean")
    :format(into, into), { what = "installing the packages" })
end

--- Puts the build's `files` into running VM `vm`: parents made, mode and
--- owner set (the owner by the guest's own user names).
---@param client banger.vm.Client
---@param spec table
---@param scratch string a host directory for inline contents
function M.put_files(client, spec, scratch)
  for i, f in ipairs(spec.files) do
    local parent = fs.dirname(f.path)
    M.run_step(client, { "mkdir", "-p", parent }, { what = ("files[%d]: making %s"):format(i, parent) })
    if f.content then
      local tmp = scratch .. "/file-" .. i
      fs.write(tmp, f.content, f.mode or tonumber("644", 8))
      client:put(tmp, f.path, f.mode or tonumber("644", 8))
    else
      local src = M.source_path(spec, f)
      if fs.is_dir(src) then
        client:copy_in(src, f.path)
      else
        client:put(src, f.path, f.mode or fs.stat(src).mode)
      end
      if f.mode then M.run_step(client, { "chmod", ("%o"):format(f.mode), f.path }, { what = ("files[%d]: mode of %s"):format(i, f.path) }) end
    end
    if f.owner then
      M.run_step(client, { "chown", "-R", f.owner, f.path }, { what = ("files[%d]: owner %s of %s"):format(i, f.owner, f.path) })
    end
  end
end

-- Runs a step with its output on banger's stderr as it comes, and a copy in
-- the guest for the tail an error shows; the exit code is the step's.
local STEP = [[log=/var/tmp/.banger-step; { sh -c "$1" </dev/null 2>&1; echo $? >"$log.rc"; } | tee "$log" >&2; rc=$(cat "$log.rc"); rm -f "$log.rc"; [ "$rc" = 0 ] && rm -f "$log"; exit "$rc"]]

--- Runs one build step in running VM `vm` as root: `cmd` a shell command
--- (or an argv list). A step that fails raises an io error with the step,
--- its exit code and the last lines of its output.
---@param client banger.vm.Client
---@param cmd string|string[]
---@param opts {what:string, env?:string[], cwd?:string, quiet?:boolean}
function M.run_step(client, cmd, opts)
  local argv = type(cmd) == "table" and cmd or { "sh", "-c", STEP, "sh", cmd }
  local r = client:exec({ argv = argv, env = opts.env, cwd = opts.cwd, capture = type(cmd) == "table" })
  if r.exit_code == 0 and (r.signal or 0) == 0 then return end
  local tail
  if type(cmd) == "table" then
    tail = r.stderr ~= "" and r.stderr or r.stdout
  else
    local t = client:exec({ argv = { "sh", "-c", "tail -n 15 /var/tmp/.banger-step; rm -f /var/tmp/.banger-step" }, capture = true })
    tail = t.stdout
  end
  tail = (tail or ""):gsub("%s+$", "")
  local how = (r.signal or 0) ~= 0 and ("killed by signal %d"):format(r.signal) or ("exit %d"):format(r.exit_code)
  local shown = type(cmd) == "table" and table.concat(cmd, " ") or cmd
  errors.raise("io", ("image build: %s failed (%s): %s%s"):format(opts.what, how, shown,
    tail ~= "" and ("\n  its output ended with:\n    " .. tail:gsub("\n", "\n    ")) or ""),
    "fix it and build again; nothing was published")
end

--- Removes the stage caches no image's build started from any more
--- (with `all`, every stage cache). Returns the names removed.
---@param all? boolean
---@return string[]
function M.prune_caches(all)
  local used = {}
  for _, rec in ipairs(store.list("image")) do
    if rec.build_from_cache then used[rec.build_from_cache] = true end
  end
  for _, vm in ipairs(store.list("vm")) do used[vm.image] = true end
  local removed = {}
  for _, rec in ipairs(store.list("image")) do
    if M.is_cache(rec) and (all or not used[rec.name]) then
      -- One a VM uses stays (image.rm refuses it).
      local ok = pcall(require("banger.image").rm, rec.name)
      if ok then removed[#removed + 1] = rec.name end
    end
  end
  return removed
end

return M
