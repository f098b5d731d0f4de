--- Error values. Host failures arrive as tables {kind=, message=, hint=} that
--- print as their message; recipes raise the same kind of value.
local M = {}

--- The kinds, in one list: each maps to an exit code (see README.md).
--- `recipe` is a plain Lua error raised by a user's recipe or script (a bug
--- there, not in banger); `internal` is one in banger's own Lua or C++.
M.kinds = { "invalid_input", "not_found", "conflict", "auth", "network", "io",
            "unsupported", "internal", "interrupted", "recipe" }

local known = {}
for _, k in ipairs(M.kinds) do known[k] = true end

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

-- banger's own Lua is embedded under these chunk names: a plain error whose
-- location is there is a bug in banger, any other comes from user code.
local function in_banger(message)
  return message:match("^lua/stdlib/") ~= nil or message:match("^lua/recipes/") ~= nil
end

local RECIPE_HINT = "this error comes from the recipe or script, not from banger (-v shows the traceback)"

--- Turns anything raised into an error value: a plain error from banger's
--- own Lua is `internal`; one from a user's recipe or script (a string with
--- its location, or any other value given to error()) is `recipe`.
---@param err any
---@return table
function M.normalize(err)
  if M.is(err) then
    if known[err.kind] then return err end
    return M.new("recipe", err.message, err.hint)
  end
  if type(err) == "string" then
    if in_banger(err) then return M.new("internal", err, "this is a bug in banger; -v shows the traceback") end
    return M.new("recipe", err, RECIPE_HINT)
  end
  return M.new("recipe", "a recipe raised " .. require("banger.pretty").format(err), RECIPE_HINT)
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
