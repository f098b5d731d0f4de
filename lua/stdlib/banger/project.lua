--- Projects: a repository that says what sandbox it needs. Its
--- `.banger/sandbox.lua` (in the current directory or one above it) returns
--- a table, and `banger run` there boots it:
---
---     return {
---       image = "debian-bookworm",   -- an image, catalog name or OCI reference
---       command = { "sh", "-c", "./run-tests" },
---       cpus = 2, memory = "2G", disk = "10G",
---       env = { CI = "1" }, ports = { "8080:80" },
---     }
---
--- Keys: image (or a build file such as ".banger/image.lua", relative to
--- the project's root: built when missing or stale), command, cpus, memory, disk (the root disk's size), env,
--- ports (`[ADDR:]HOST:GUEST`, as `vm run -p`), allow_host (`PORT[/udp]`),
--- net (user, tap, none), kernel, init, workdir, workspace (where the
--- project's files are in the guest, default /work, or false for none),
--- mounts (`HOST:GUEST[:ro]` as `vm run --mount`, HOST relative to the
--- project's root: shared live, needs root), egress (rules as `vm run
--- --egress`), add_hosts (`NAME:IP` as `--add-host`), egress_hook (a Lua
--- file, relative to the project's root, as `--egress-hook`).
--- Every key is optional; an unknown key is an error naming the file (a typo
--- never passes silently).
local errors = require("banger.errors")
local fs = require("banger.fs")
local config_file = require("banger.config_file")

local M = {}

--- Where a project keeps its sandbox, relative to its root.
M.SANDBOX_FILE = ".banger/sandbox.lua"

-- Each key's kind (banger.config_file): how it is checked and what it becomes.
local KEYS = {
  image = "string", command = "command", cpus = "integer", memory = "size", disk = "size",
  env = "env", ports = "strings", allow_host = "strings", net = "string", kernel = "string",
  init = "string", workdir = "string", workspace = "workspace", mounts = "strings",
  egress = function(v, fail)
    if type(v) == "function" then
      fail("a list of rules (a hook function goes in a file of its own: egress_hook = \".banger/egress.lua\")", "a function")
    end
    if type(v) ~= "table" then fail("a list of rules", type(v)) end
    for i, s in ipairs(v) do
      if type(s) ~= "string" then fail("a string", type(s), ("[%d]"):format(i)) end
    end
    return v
  end,
  add_hosts = "strings", egress_hook = "string",
}

--- The project's root: the nearest directory, from `start` (default: the
--- current one) upwards, that has a `.banger/sandbox.lua`. nil when none does.
---@param start? string
---@return string|nil
function M.root(start)
  local dir = start or _host.core.cwd()
  while true do
    if fs.exists(dir .. "/" .. M.SANDBOX_FILE) then return dir end
    if dir == "/" or dir == "" then return nil end
    dir = fs.dirname(dir)
  end
end

--- Reads a sandbox file: runs it (as a recipe file runs: `banger.*` in
--- scope) and checks what it returns. Sizes become bytes, `env` a sorted
--- list of `NAME=VALUE`, a `command` string `{"sh", "-c", command}`.
---@param path string
---@return table
function M.load(path)
  return config_file.load(path, KEYS, {
    example = "return { image = ..., command = { ... } }",
    help = "see 'banger run --help' for the sandbox file's keys",
  })
end

--- The build file the sandbox's `image` names (a path ending in .lua,
--- relative to the project's root `root`), or nil when it names an image.
---@param sandbox table
---@param root string
---@return string|nil
function M.build_file(sandbox, root)
  local image = sandbox.image
  if not image or not require("banger.build").is_build_file(image) then return nil end
  return image:sub(1, 1) == "/" and image or (root .. "/" .. image)
end

--- The arguments of the `vm_run` recipe that boot `sandbox` (from load)
--- for the project at `root`: the project is the workspace (unless the
--- sandbox says `workspace = false`), and the VM is removed when its command
--- ends. `opts.command` replaces the sandbox's own; `opts.apply` and
--- `opts.export` say where the workspace's changes go (default: a branch
--- banger/NAME in the repository).
---@param sandbox table
---@param root string
---@param opts? {command?:string[], apply?:boolean, export?:string, cold?:boolean}
---@return table
function M.vm_run_args(sandbox, root, opts)
  opts = opts or {}
  local workspace = sandbox.workspace ~= false
  if workspace and not opts.export and not require("banger.workspace").is_repository(root) then
    errors.raise("invalid_input", ("the project %s is not a git repository: its sandbox's changes need --export DIR"):format(root),
      "give --export DIR, or set workspace = false in " .. M.SANDBOX_FILE .. " for a sandbox without the project's files")
  end
  -- A mount's HOST is the project's: relative to its root, wherever banger runs.
  local mounts
  for _, m in ipairs(sandbox.mounts or {}) do
    mounts = mounts or {}
    mounts[#mounts + 1] = m:sub(1, 1) == "/" and m or (root .. "/" .. m)
  end
  return {
    mount = mounts,
    image = sandbox.image, cpus = sandbox.cpus, memory = sandbox.memory, disk = sandbox.disk,
    env = sandbox.env, publish = sandbox.ports, allow_host = sandbox.allow_host, net = sandbox.net,
    egress = sandbox.egress, add_host = sandbox.add_hosts,
    egress_hook = sandbox.egress_hook and (sandbox.egress_hook:sub(1, 1) == "/" and sandbox.egress_hook
      or (root .. "/" .. sandbox.egress_hook)) or nil,
    kernel = sandbox.kernel, init = sandbox.init, workdir = sandbox.workdir,
    workspace = workspace and root or nil, workspace_path = workspace and sandbox.workspace or nil,
    apply = opts.apply, export = opts.export, cold = opts.cold,
    command = opts.command or sandbox.command, rm = true,
  }
end

return M
