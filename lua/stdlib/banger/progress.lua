--- Progress shown to the user: stage lines and byte counters. Bars on a
--- terminal, plain lines otherwise, nothing with --json.
local M = {}

--- Announces a stage ("==> pull").
---@param text string
function M.stage(text) _host.progress.stage(text) end

--- A line beside the bars.
---@param text string
function M.note(text) _host.progress.note(text) end

--- Starts a counter; returns an object with :update(done) and :finish().
---@param label string
---@param total? integer bytes (0 or nil: unknown)
function M.task(label, total)
  local id = _host.progress.start(label, total or 0)
  return {
    update = function(_, done) _host.progress.update(id, done) end,
    finish = function() _host.progress.finish(id) end,
  }
end

--- "auto" | "bars" | "lines" | "quiet"
---@param mode string
function M.set_mode(mode) _host.progress.set_mode(mode) end

return M
