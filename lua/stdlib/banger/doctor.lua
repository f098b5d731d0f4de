--- What this host has and lacks for banger's VMs.
local M = {}

--- Every check, essential or not, with how to fix what fails.
---@return {name:string, ok:boolean, essential:boolean, status:string, detail:string, fix:string}[]
function M.checks() return _host.doctor.checks() end

--- `banger doctor --repair`: rebuilds a damaged or lost state index from the
--- state directories and removes what killed commands left behind.
---@return string[] what was done
function M.repair() return _host.doctor.repair() end

return M
