--- The guest agent that banger puts into every image.
local M = {}

--- Writes the agent (and what starts it) into an ext4 image file.
---@param rootfs string the image's path
---@return table what was written (the agent's version and paths)
function M.inject(rootfs) return _host.agent.inject(rootfs) end

return M
