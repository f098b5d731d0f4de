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
---@field later? boolean still being written (`create{later=true}`): the guest mounts it when `finish` says

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

-- VM name -> the disk this process is still writing (create{later=true}).
local building = {}

--- Builds VM `opts.vm`'s workspace disk from `source` in `opts.state_dir`
--- (banger's own ext4 writer, straight from the host files).
---
--- `later`: only the scan happens now, and the disk file is made at its
--- final size; its content is written on a thread while the VM boots. The
--- workspace has `later = true`, and the VM's start ends with `finish`,
--- which waits for the disk and has the guest mount it. A VM whose creator
--- ended before that cannot start (`check_finished`).
---@param source string a directory
---@param opts {vm:string, state_dir:string, path?:string, size?:integer, later?:boolean}
---@return banger.workspace.Workspace
function M.create(source, opts)
  check_dir(source)
  local path = opts.path or M.DEFAULT_PATH
  _host.workspace.check_path(path)
  local req = { vm = opts.vm, source = source, state_dir = opts.state_dir, size = opts.size }
  local ws
  if opts.later then
    local handle
    handle, ws = _host.workspace.begin(req)
    building[opts.vm] = handle
    ws.later = true
  else
    ws = _host.workspace.create(req)
  end
  ws.path = path
  return ws
end

--- Raises unless VM `vm`'s workspace is whole, or is being written by this
--- process (then `finish` completes it).
---@param vm string
---@param ws? banger.workspace.Workspace the VM record's workspace
function M.check_finished(vm, ws)
  if ws and ws.later and not building[vm] then
    errors.raise("conflict",
      ("VM '%s': its workspace disk was never finished (the command that created it ended while writing it)"):format(vm),
      ("remove the VM with 'banger vm rm %s' and create it again"):format(vm))
  end
end

--- Finishes a workspace made with `later` in running VM `vm`: waits for its
--- disk, then the guest mounts it. Returns the whole workspace, for the
--- VM's record.
---@param vm string
---@param ws banger.workspace.Workspace the VM record's workspace
---@param client banger.vm.Client connected to the VM
---@return banger.workspace.Workspace
function M.finish(vm, ws, client)
  M.check_finished(vm, ws)
  local handle = building[vm]
  building[vm] = nil
  local done = handle:wait()
  done.path = ws.path
  local r = client:exec({ argv = _host.workspace.mount_argv(), capture = true })
  if r.exit_code ~= 0 then
    errors.raise("io", ("VM '%s': the guest could not mount its workspace at %s: %s"):format(vm, ws.path,
      (r.stderr or ""):gsub("%s+$", "")), "see the VM's console with 'banger vm logs " .. vm .. "'")
  end
  return done
end

--- Forgets VM `vm`'s workspace disk if this process is still writing it,
--- once the writing stopped (before its directory goes).
---@param vm string
function M.discard(vm)
  local handle = building[vm]
  if not handle then return end
  building[vm] = nil
  pcall(handle.wait, handle)
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
