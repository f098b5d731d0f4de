--- What this host has and lacks for banger's VMs.
local M = {}

--- Every check, essential or not, with how to fix what fails.
---@return {name:string, ok:boolean, essential:boolean, status:string, detail:string, fix:string}[]
function M.checks() return _host.doctor.checks() end

return M
