-- Where the time of `vm run --rm --net none -- true` goes: runs the vm_run
-- recipe in this process RUNS times (arg[1], default 5) and prints the median
-- milliseconds per phase. The phases are read from the recipe's progress
-- stages and from a few wrapped host calls, so the recipes run unchanged.
-- Run through bench/vm_run_phases.sh.
local now = banger.process.clock_ms
local runs = tonumber(arg and arg[1]) or 5

local cur -- the current run's marks (absolute ms) and sums
local function wrap(tbl, key, sum)
  local f = tbl[key]
  tbl[key] = function(...)
    local t = now()
    local r = { f(...) }
    cur[sum] = (cur[sum] or 0) + (now() - t)
    return unpack(r)
  end
end

local progress = require("banger.progress")
local stage = progress.stage
progress.stage = function(name, ...)
  cur[name] = cur[name] or now()
  return stage(name, ...)
end
wrap(banger.vm, "reconcile", "reconcile_ms")
wrap(banger.process, "run", "disk_ms") -- qemu-img create, the only subprocess of vm create
local spawn = banger.vm.spawn_supervisor
banger.vm.spawn_supervisor = function(...)
  local info = spawn(...)
  cur.boot_info = info.boot
  return info
end
-- vm run connects twice: for the command, then (its cleanup) to stop the VM.
local connect = banger.vm.connect
banger.vm.connect = function(...)
  cur.connects = (cur.connects or 0) + 1
  if cur.connects == 2 then cur.stop = now() end
  return connect(...)
end
local load = banger.recipe.load
banger.recipe.load = function(name, ...)
  if name == "vm_rm" then cur.rm = now() end
  return load(name, ...)
end

local rows = {}
local function phases(m, t0, t1)
  local b = m.boot_info or {}
  return {
    { "create (record, disk)", m.start - m.create },
    { "  of which qemu-img create", m.disk_ms or 0 },
    { "start before the boot (reconcile, kernel, spec)", m.boot - m.start },
    { "supervisor spawn to QEMU and back", (m.ready - m.boot) - (b.host_ready_ms or 0) },
    { "QEMU start to agent ready", b.host_ready_ms or 0 },
    { "  guest: kernel to init", b.kernel_to_init_ms or 0 },
    { "  guest: init to ready", b.init_to_ready_ms or 0 },
    { "exec (connect, command, exit)", m.stop - m.run },
    { "stop", m.rm - m.stop },
    { "rm", t1 - m.rm },
    { "reconciles (all, within the above)", m.reconcile_ms or 0 },
    { "total in-process", t1 - t0 },
  }
end

local vm_run = banger.recipe.load("vm_run")
for i = 1, runs do
  cur = {}
  local t0 = now()
  vm_run:main({ "--rm", "--net", "none", "--", "true" }, { command = "banger vm run" })
  rows[i] = phases(cur, t0, now())
end

local function median(xs)
  table.sort(xs)
  return xs[math.floor((#xs + 1) / 2)]
end
for p = 1, #rows[1] do
  local xs = {}
  for i = 1, runs do xs[i] = rows[i][p][2] end
  print(("%-52s %6.0f"):format(rows[1][p][1], median(xs)))
end
