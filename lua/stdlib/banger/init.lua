--- The banger standard library. `banger.X` loads `banger.X` on first use, so
--- `banger.image.pull(...)` works without a require.
---@class banger
local banger = {}

setmetatable(banger, {
  __index = function(t, k)
    local ok, mod = pcall(require, "banger." .. k)
    if not ok then
      if type(mod) == "string" and mod:find("no banger stdlib module", 1, true) then return nil end
      error(mod, 2)
    end
    rawset(t, k, mod)
    return mod
  end,
})

--- The banger version string.
---@return string
function banger.version() return _host.core.version() end

--- Writes a line to banger's log (shown with -v; warnings always).
---@param level "debug"|"info"|"warn"|"error"
---@param message string
function banger.log(level, message) _host.core.log(level, message) end

return banger
