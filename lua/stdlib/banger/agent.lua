--- The guest agent that banger puts into every image.
local M = {}

--- Writes the agent (and what starts it) into an ext4 image file.
---@param rootfs string the image's path
---@return table what was written (the agent's version and paths)
function M.inject(rootfs) return _host.agent.inject(rootfs) end

--- Whether the image's agent is this banger's own, byte for byte: an image
--- keeps the agent it was pulled with (`image pull` again to update it), and
--- an older agent lacks newer tools.
---@param rootfs string the image's path
---@return boolean
function M.is_current(rootfs) return _host.agent.has_current(rootfs) end

return M
