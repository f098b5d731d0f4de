--- JSON encoding for --json output and catalogs.
local M = {}

--- Encodes a Lua value as JSON.
---@param value any
---@param pretty? boolean indent with two spaces
---@return string
function M.encode(value, pretty) return _host.json.encode(value, pretty) end

--- Decodes JSON text; malformed text raises an invalid_input error.
---@param text string
---@return any
function M.decode(text) return _host.json.decode(text) end

return M
