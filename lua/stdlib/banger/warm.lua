--- Warm starts: a new VM restores a snapshot of an earlier VM of the same
--- shape, saved just after that one booted, instead of booting. The
--- snapshot's name comes from the shape (image, kernel, cpus, memory, disk,
--- network mode, init); its key adds what must be the same for the saved
--- state to be right: the image's and kernel's identity and banger's
--- version (which makes the agent and the initramfs). QEMU's version and
--- the command line are checked by the restore itself. A snapshot whose
--- key no longer matches is evicted; so are an image's or kernel's when it
--- is removed, and all of them by 'banger snapshot prune'. BANGER_WARM=0
--- in the environment turns warm starts off (every VM boots).
local store = require("banger.store")
local snapshot = require("banger.snapshot")

local M = {}

local function shape_text(rec)
  return table.concat({ rec.image, rec.kernel, rec.cpus, rec.memory_mib, rec.disk or 0, rec.net, rec.init or "" }, "\0")
end

--- Whether a new VM record can start warm: not made from a snapshot, and
--- no workspace disk or live mount (state a snapshot cannot share).
---@param rec table a VM record (or what vm_create is about to record)
---@return boolean
function M.eligible(rec)
  if _host.core.getenv("BANGER_WARM") == "0" then return false end
  return rec.from_snapshot == nil and rec.workspace == nil and (rec.mounts == nil or #rec.mounts == 0) and not rec.cold
end

--- The warm snapshot's name for VMs of `rec`'s shape.
---@param rec table {image, kernel, cpus, memory_mib, disk?, net, init?}
---@return string
function M.name(rec) return "warm-" .. _host.core.sha256(shape_text(rec)):sub(8, 23) end

--- What must match besides the shape for a warm snapshot to be restored.
---@param rec table
---@return string
function M.key(rec)
  local image = store.get("image", rec.image) or {}
  local kernel = store.get("kernel", rec.kernel) or {}
  return _host.core.sha256(table.concat({ shape_text(rec), image.created or 0, image.manifest_digest or "",
    image.rootfs or "", kernel.created or 0, kernel.origin_version or "", _host.core.version() }, "\0"))
end

---@param snap table a snapshot record
---@return boolean
function M.is_warm(snap) return snap.warm_key ~= nil end

--- Removes warm snapshot `name` unless a VM's disk sits on it.
---@param name string
---@return boolean removed
function M.evict(name)
  if #snapshot.users(name) > 0 then return false end
  local ok, err = pcall(snapshot.remove, name)
  if not ok then
    require("banger").log("warn", ("warm snapshot '%s' not removed: %s"):format(name, require("banger.errors").normalize(err).message))
  end
  return ok
end

--- The warm snapshot a new VM of `rec`'s shape restores, or nil. One whose
--- key no longer matches (the image was pulled again, banger changed) is
--- evicted on the way.
---@param rec table
---@return table|nil snapshot record
function M.find(rec)
  local snap = snapshot.get(M.name(rec))
  if not snap then return nil end
  if snap.warm_key == M.key(rec) then return snap end
  M.evict(snap.name)
  return nil
end

--- Saves just-booted VM `rec` as its shape's warm snapshot, unless one
--- exists. Best effort: a failure (another VM saved it first, a full disk)
--- is logged and the VM runs on.
---@param rec table the VM's record
---@return table|nil the snapshot's record
function M.save(rec)
  local name = M.name(rec)
  if snapshot.get(name) then return nil end
  local ok, result = pcall(snapshot.take, rec.name, name, { warm_key = M.key(rec) })
  if not ok then
    require("banger").log("info", ("VM '%s': no warm snapshot saved: %s"):format(rec.name,
      require("banger.errors").normalize(result).message))
    return nil
  end
  require("banger").log("info", ("VM '%s': saved as warm snapshot '%s' (paused %.0f ms)"):format(rec.name, name, result.paused_ms or 0))
  return result
end

--- Whether VM `rec`'s next start restores a warm snapshot.
---@param rec table a VM record
---@return boolean
function M.restoring(rec)
  if not rec.restore_pending or not rec.from_snapshot then return false end
  local snap = snapshot.get(rec.from_snapshot)
  return snap ~= nil and M.is_warm(snap)
end

--- Turns VM `rec`, made from a warm snapshot that failed to restore, into a
--- VM that boots: a new disk over its image, the snapshot evicted (it
--- would fail the next VM too).
---@param rec table a stopped VM record
---@return table the updated record
function M.go_cold(rec)
  rec = store.get("vm", rec.name) or rec
  local image = require("banger.image").require(rec.image)
  local warm = rec.from_snapshot
  require("banger.fs").remove(rec.overlay)
  rec.overlay = require("banger.vmm").create_overlay(image.rootfs, rec.dir, rec.name, rec.disk)
  rec.from_snapshot, rec.restore_pending = nil, nil
  store.update("vm", rec.name, rec)
  M.evict(warm)
  return rec
end

--- Evicts the warm snapshots that match `filter` ({image=}, {kernel=}, or
--- nil for all) and that no VM uses.
---@param filter? {image?:string, kernel?:string}
---@return string[] removed, string[] kept the names evicted, and those VMs still use
function M.prune(filter)
  filter = filter or {}
  local removed, kept = {}, {}
  for _, snap in ipairs(snapshot.list()) do
    if M.is_warm(snap) and (filter.image == nil or snap.image == filter.image)
        and (filter.kernel == nil or snap.kernel == filter.kernel) then
      if M.evict(snap.name) then removed[#removed + 1] = snap.name else kept[#kept + 1] = snap.name end
    end
  end
  return removed, kept
end

return M
