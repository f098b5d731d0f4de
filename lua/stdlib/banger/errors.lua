--- Error values. Host failures arrive as tables {kind=, message=, hint=} that
--- print as their message; recipes raise the same kind of value.
local M = {}

--- The kinds, in one list: each maps to an exit code (see README.md).
M.kinds = { "invalid_input", "not_found", "conflict", "auth", "network", "io",
            "unsupported", "internal", "interrupted" }

--- Makes an error value.
---@param kind string one of errors.kinds
---@param message string names the thing that failed
---@param hint? string says how to fix it
---@return table
function M.new(kind, message, hint)
  return _host.core.error(kind, message, hint)
end

--- Raises an error value (never returns).
---@param kind string
---@param message string
---@param hint? string
function M.raise(kind, message, hint)
  error(M.new(kind, message, hint), 0)
end

--- True when `err` is an error value (of `kind`, when given).
---@param err any
---@param kind? string
---@return boolean
function M.is(err, kind)
  if type(err) ~= "table" or type(err.message) ~= "string" then return false end
  return kind == nil or err.kind == kind
end

--- Turns anything raised into an error value (strings become `internal`).
---@param err any
---@return table
function M.normalize(err)
  if M.is(err) then return err end
  return M.new("internal", tostring(err))
end

--- Re-raises `err` with CONTEXT prepended to its message.
---@param err any
---@param context string
function M.rethrow(err, context)
  local e = M.normalize(err)
  error(M.new(e.kind or "internal", context .. ": " .. e.message, e.hint), 0)
end

--- Exit code for an error value.
---@param err table
---@return integer
function M.exit_code(err)
  return _host.core.exit_code(err.kind or "internal")
end

return M
