--- Snapshots: saved VMs under $BANGER_HOME/snapshots/NAME, recorded in the
--- state index as kind "snapshot". A snapshot holds the VM's frozen disk,
--- its device state and (for a VM that booted) its guest memory, plus
--- meta.json: {vm, image, kernel, cpus, memory_mib, net, init, qemu_version,
--- shape_digest, memory_file, paused_ms, created_at} (warm_key too for
--- banger.warm's). It restores only under the QEMU that saved it and the
--- same command line (checked by the host).
local errors = require("banger.errors")
local store = require("banger.store")
local fs = require("banger.fs")
local json = require("banger.json")
local core = _host.core

local M = {}

---@param name string
---@return table|nil
function M.get(name) return store.get("snapshot", name) end

--- The snapshot's record or a not_found error with a hint.
---@param name string
---@return table
function M.require(name)
  local rec = M.get(name)
  if not rec then
    errors.raise("not_found", ("no snapshot named '%s'"):format(name), "list snapshots with 'banger snapshot ls'")
  end
  return rec
end

---@return table[] records sorted by name
function M.list() return store.list("snapshot") end

--- A snapshot name follows the VM name rule (it names VMs made from it).
---@param name string
function M.check_name(name) core.check_vm_name(name) end

--- The VMs whose disks sit on the snapshot's frozen disk.
---@param name string
---@return string[]
function M.users(name)
  local out = {}
  for _, rec in ipairs(store.list("vm")) do
    if rec.from_snapshot == name then out[#out + 1] = rec.name end
  end
  return out
end

--- Saves running (or paused) VM `vm_name` as snapshot `snap_name`: its
--- supervisor pauses it for the save only (a paused VM stays paused), into
--- a staging directory published by one rename, so a killed save leaves no
--- half-written snapshot (staging is reclaimed). `extra` fields go into
--- meta.json too (banger.warm's key).
---@param vm_name string
---@param snap_name string
---@param extra? table
---@return table the snapshot's record, with the save's timings
function M.take(vm_name, snap_name, extra)
  M.check_name(snap_name)
  if M.get(snap_name) then
    errors.raise("conflict", ("snapshot '%s' already exists"):format(snap_name),
      ("choose another name, or remove it with 'banger snapshot rm %s'"):format(snap_name))
  end
  local vm = require("banger.vm")
  local rec = vm.require(vm_name)
  -- A workspace is a second disk the snapshot does not freeze: copies would
  -- write one file together.
  if rec.workspace then
    errors.raise("unsupported", ("VM '%s' has a workspace (%s), which a snapshot cannot copy"):format(vm_name, rec.workspace.source),
      "snapshot a VM made without --workspace; export this one's changes with 'banger vm export " .. vm_name .. "'")
  end
  -- A live mount's state is in its virtiofsd, which QEMU cannot save.
  if rec.mounts and #rec.mounts > 0 then
    errors.raise("unsupported", ("VM '%s' has a live mount (%s), which a snapshot cannot save"):format(vm_name, rec.mounts[1].guest),
      "snapshot a VM made without --mount")
  end
  local staging, hold = store.staging("snapshot-" .. snap_name)
  local ok, result = pcall(vm.control, vm_name, { op = "snapshot", dir = staging })
  if not ok then
    fs.remove(staging)
    hold:release()
    error(result, 0)
  end
  local meta = {
    vm = vm_name, image = rec.image, kernel = rec.kernel, cpus = rec.cpus, memory_mib = rec.memory_mib,
    net = rec.net, init = rec.init, qemu_version = result.qemu_version, shape_digest = result.shape_digest,
    memory_file = result.memory_file, agent = result.agent, accel = result.accel, paused_ms = result.paused_ms,
    state_bytes = result.state_bytes, memory_bytes = result.memory_bytes, created_at = os.time(),
  }
  for k, v in pairs(extra or {}) do meta[k] = v end
  fs.write(staging .. "/meta.json", json.encode(meta, true), tonumber("600", 8))
  local final = store.paths().snapshots .. "/" .. snap_name
  meta.dir = final
  hold:release()
  local pok, perr = pcall(store.publish, "snapshot", snap_name, staging, final, meta)
  if not pok then
    fs.remove(staging)
    error(perr, 0)
  end
  meta.name = snap_name
  meta.migrate_ms, meta.memory_ms, meta.disk_ms = result.migrate_ms, result.memory_ms, result.disk_ms
  return meta
end

--- What vm.start's spec takes to restore snapshot `rec` (see host/vm/spec.h).
---@param rec table a snapshot record
---@return table
function M.restore_spec(rec)
  return {
    snapshot = rec.name, state = rec.dir .. "/state", memory = rec.memory_file and (rec.dir .. "/memory") or nil,
    qemu_version = rec.qemu_version, shape_digest = rec.shape_digest,
  }
end

--- Removes a snapshot; refused while VMs made from it exist (their disks
--- sit on its frozen disk).
---@param name string
function M.remove(name)
  local rec = M.require(name)
  local users = M.users(name)
  if #users > 0 then
    errors.raise("conflict", ("snapshot '%s' is the base of VM %s"):format(name, table.concat(users, ", ")),
      ("remove those VMs first ('banger vm rm %s')"):format(table.concat(users, " ")))
  end
  store.remove("snapshot", name)
  fs.remove(rec.dir)
end

return M
