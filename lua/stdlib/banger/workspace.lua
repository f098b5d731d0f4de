--- Workspaces: a directory's files in a VM (at /work by default, the
--- command's working directory), and what the guest changed there brought
--- back without the guest ever touching the host's files.
---
--- For a git repository the workspace holds the tracked files, the untracked
--- ones that are not ignored, and .git; the results become a commit on branch
--- `banger/VM` whose parent is the commit the workspace was taken from (HEAD,
--- or a commit on HEAD holding the uncommitted changes), guest commits
--- included; the working tree, index and current branch are untouched unless
--- `apply` asks for the working tree. Any other directory's results are the
--- changed files in a new directory. The host reads the disk itself, so
--- images without git work too.
---
---   local ws = banger.workspace.create(".", { vm = "dev-1", state_dir = rec.dir })
---   -- ... the VM runs with rec.workspace = ws ...
---   local r = banger.workspace.export(ws, { vm = "dev-1", scratch = rec.dir })
---   print(banger.workspace.describe("dev-1", ws, r))
local errors = require("banger.errors")
local fs = require("banger.fs")

local M = {}

--- Where the workspace is mounted in the guest unless told otherwise.
M.DEFAULT_PATH = "/work"

---@class banger.workspace.Workspace
---@field source string the directory (absolute)
---@field git boolean taken as a git repository
---@field head string git: HEAD's commit when it was taken ("" on an unborn branch)
---@field base string git: the commit the workspace was taken from
---@field path string where the guest mounts it
---@field disk string the workspace disk (raw ext4, in the VM's directory)
---@field manifest string what went in (in the VM's directory)
---@field files integer files and symlinks in it (.git's not counted)
---@field entries integer everything on the disk
---@field data_bytes integer file bytes copied
---@field disk_size integer the disk's size (sparse)
---@field seconds number the time the build took

---@class banger.workspace.Result
---@field kind string "branch" | "applied" | "dir" | "none" (nothing changed) | "pending" (changes, not exported)
---@field branch? string "banger/VM" (kind "branch")
---@field commit? string the results' commit (git)
---@field dir? string the export directory (kind "dir")
---@field added integer
---@field modified integer
---@field deleted integer
---@field commits integer guest commits brought back
---@field note? string why the guest's commits were left out
---@field skipped string[] what was not brought back (devices, nested repositories, ignored files)

local function check_dir(source)
  if type(source) ~= "string" or source == "" then
    errors.raise("invalid_input", "workspace: the directory must be a path")
  end
  if not fs.is_dir(source) then
    errors.raise("not_found", ("workspace %s is not a directory"):format(source), "give an existing directory to --workspace")
  end
end

--- True when `dir` is taken as a git repository (it has a .git).
---@param dir string
---@return boolean
function M.is_repository(dir) return _host.workspace.is_repository(dir) end

--- Checks what a run with a workspace was asked for, before anything is
--- made: the directory, the guest path, and where the results go.
---@param source string the workspace directory
---@param opts {path?:string, apply?:boolean, export?:string, remove?:boolean} remove: the VM goes when the command ends (--rm)
function M.check(source, opts)
  opts = opts or {}
  check_dir(source)
  _host.workspace.check_path(opts.path or M.DEFAULT_PATH)
  if opts.apply and opts.export then
    errors.raise("invalid_input", "--apply and --export are exclusive", "apply to the working tree, or export to a directory")
  end
  local git = M.is_repository(source)
  if opts.apply and not git then
    errors.raise("invalid_input", ("--apply needs a git repository, and %s is not one"):format(source),
      "give --export DIR for the changed files")
  end
  if opts.export then _host.workspace.check_export_dir(M.absolute(opts.export)) end
  if not git and not opts.export and opts.remove then
    errors.raise("invalid_input", ("the workspace %s is not a git repository: its changes need --export DIR"):format(source),
      "give --export DIR, or drop --rm and export later with 'banger vm export NAME --export DIR'")
  end
end

--- `path` made absolute against the current directory.
---@param path string
---@return string
function M.absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return _host.core.cwd() .. "/" .. path
end

--- Builds VM `opts.vm`'s workspace disk from `source` in `opts.state_dir`
--- (banger's own ext4 writer, straight from the host files).
---@param source string a directory
---@param opts {vm:string, state_dir:string, path?:string, size?:integer}
---@return banger.workspace.Workspace
function M.create(source, opts)
  check_dir(source)
  local path = opts.path or M.DEFAULT_PATH
  _host.workspace.check_path(path)
  local ws = _host.workspace.create({ vm = opts.vm, source = source, state_dir = opts.state_dir, size = opts.size })
  ws.path = path
  return ws
end

--- Reads VM `opts.vm`'s workspace disk back (the VM stopped, or synced) and
--- brings the changes back: a branch (git, default), the working tree
--- (`apply`), a new directory (`export`), or nowhere (`check`: only counted).
---@param ws banger.workspace.Workspace the VM record's workspace
---@param opts {vm:string, scratch:string, apply?:boolean, export?:string, check?:boolean}
---@return banger.workspace.Result
function M.export(ws, opts)
  local mode = "branch"
  if opts.export then mode = "dir" elseif opts.apply then mode = "apply" elseif opts.check or not ws.git then mode = "check" end
  return _host.workspace.export({
    vm = opts.vm, workspace = ws, mode = mode, scratch = opts.scratch,
    dir = opts.export and M.absolute(opts.export) or nil,
  })
end

--- The one line that says where the changes are.
---@param vm string
---@param ws banger.workspace.Workspace
---@param r banger.workspace.Result
---@return string
function M.describe(vm, ws, r)
  local counts = ("%d added, %d modified, %d deleted"):format(r.added, r.modified, r.deleted)
  if r.commits > 0 then counts = ("%d guest commit%s, %s"):format(r.commits, r.commits == 1 and "" or "s", counts) end
  if r.kind == "branch" then
    return ("changes from VM '%s' are on branch %s in %s (%s)"):format(vm, r.branch, ws.source, counts)
  elseif r.kind == "applied" then
    return ("changes from VM '%s' are applied to the working tree of %s (%s)"):format(vm, ws.source, counts)
  elseif r.kind == "dir" then
    return ("changes from VM '%s' are in %s (%s)"):format(vm, r.dir, counts)
  elseif r.kind == "pending" then
    return ("changes from VM '%s' are still in its workspace (%s): export them with 'banger vm export %s --export DIR'")
      :format(vm, counts, vm)
  end
  return ("no changes from VM '%s' in the workspace"):format(vm)
end

return M
