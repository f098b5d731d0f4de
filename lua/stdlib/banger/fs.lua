--- Files on the host.
local core = _host.core
local M = {}

---@param path string
---@return string contents
function M.read(path) return core.read_file(path) end

--- Writes atomically (temp file + rename).
---@param path string
---@param data string
---@param mode? integer
function M.write(path, data, mode) core.write_file(path, data, mode) end

--- A fresh private directory PARENT/.PREFIX-XXXXXX (mode 0700).
---@param parent string
---@param prefix string
---@return string path
function M.make_temp_dir(parent, prefix) return core.make_temp_dir(parent, prefix) end

---@param path string
---@return {type:string, size:integer, mode:integer, mtime:integer, allocated:integer}|nil allocated: bytes on disk (a sparse file's are fewer than its size)
function M.stat(path) return core.stat(path) end

---@param path string
---@return boolean
function M.exists(path) return core.stat(path) ~= nil end

---@param path string
---@return boolean
function M.is_dir(path)
  local st = core.stat(path)
  return st ~= nil and st.type == "dir"
end

---@param path string
---@return string[] names, sorted
function M.list(path) return core.list_dir(path) end

---@param path string
---@param mode? integer default 0700
function M.mkdirs(path, mode) core.make_dirs(path, mode) end

--- rm -rf without following symlinks.
---@param path string
function M.remove(path) core.remove_all(path) end

---@param from string
---@param to string
function M.rename(from, to) core.rename(from, to) end

---@param path string
---@return string
function M.realpath(path) return core.realpath(path) end

---@param path string
---@return string
function M.dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

---@param path string
---@return string
function M.basename(path) return path:match("([^/]*)/*$") end

--- Joins path parts with "/".
---@return string
function M.join(...)
  local parts = { ... }
  local out = table.concat(parts, "/")
  return (out:gsub("//+", "/"))
end

return M
