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

--- Marks a list so that it encodes as a JSON array even when empty (lists
--- that come from the host are marked already).
---@param t? table
---@return table
function M.array(t) return _host.json.array(t) end

return M
