--- The state index: images, kernels and VMs as named records in one SQLite
--- database under $BANGER_HOME, plus file locks.
local M = {}
local S = _host.store

--- The state directories ({home=, images=, kernels=, vms=, blobs=, staging=, ...}),
--- created (0700) on first use.
---@return table
function M.paths()
  _host.core.ensure_layout()
  return _host.core.paths()
end

---@param kind string "image" | "kernel" | "vm"
---@param name string
---@return table|nil record (its data plus name, kind, created)
function M.get(kind, name) return S.get(kind, name) end

---@param kind string
---@return table[] records sorted by name
function M.list(kind) return S.list(kind) end

--- Adds a record; a conflict error when the name is taken.
function M.insert(kind, name, data) S.insert(kind, name, data) end

--- Replaces a record's data; not_found when missing.
function M.update(kind, name, data) S.update(kind, name, data) end

--- Removes a record (and its address); false when there was none.
---@return boolean
function M.remove(kind, name) return S.remove(kind, name) end

--- Renames staging_dir to final_dir and records `data`, atomically: exactly
--- one of two racing publishes of one name wins.
function M.publish(kind, name, staging_dir, final_dir, data)
  S.publish(kind, name, staging_dir, final_dir, data)
end

--- Adds a record holding the lowest free address in [first, last], in one
--- transaction; returns the address.
---@return integer
function M.insert_with_address(kind, name, data, first, last)
  return S.insert_with_address(kind, name, data, first, last)
end

function M.release_address(name) S.release_address(name) end
function M.address_of(name) return S.address_of(name) end

--- A fresh staging directory under $BANGER_HOME/tmp, locked by this process
--- for as long as `hold` lives: the staging of a process that died is told
--- apart from live work and reclaimed (see reclaim_staging). Call
--- `hold:release()` just before publishing the directory.
---@param prefix string e.g. "pull-NAME"
---@return string path
---@return {release:function} hold
function M.staging(prefix)
  return S.staging(prefix)
end

--- Removes staging directories whose owner is gone (killed pulls and
--- imports); returns the bytes freed. Live ones are never touched.
---@return integer
function M.reclaim_staging() return S.reclaim_staging() end

--- Takes an exclusive file lock; `wait=false` fails at once when busy.
---@param path string
---@param what string named in the error when busy
---@param wait? boolean
---@return {release:function}
function M.lock(path, what, wait) return S.lock(path, what, wait) end

return M
