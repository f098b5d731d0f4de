--- Catalogs: named sources shipped in catalog/NAME.json (embedded), with
--- entries from $XDG_CONFIG_HOME/banger/NAME.json added or replacing them.
local json = require("banger.json")
local fs = require("banger.fs")

local M = {}

--- Loads catalog `name` ("images", "kernels"): the table under its key.
---@param name string
---@return table<string, table>
function M.load(name)
  local entries = json.decode(_host.core.read_source("catalog/" .. name .. ".json"))[name]
  local user = _host.core.paths().config_home .. "/" .. name .. ".json"
  if fs.exists(user) then
    for k, v in pairs(json.decode(fs.read(user))[name] or {}) do entries[k] = v end
  end
  return entries
end

return M
