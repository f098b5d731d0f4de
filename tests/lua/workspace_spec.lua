-- banger.workspace: the checks a run makes before anything exists, and the
-- one line that says where a VM's changes went.
local ws = banger.workspace
local fs = banger.fs

describe("banger.workspace", function()
  it("checks a run's workspace options before anything is made", function()
    local plain = fs.make_temp_dir("/tmp", "ws-spec")
    local repo = fs.make_temp_dir("/tmp", "ws-spec-repo")
    fs.mkdirs(repo .. "/.git", tonumber("755", 8))
    expect.eq(ws.is_repository(repo), true)
    expect.eq(ws.is_repository(plain), false)
    ws.check(repo, { remove = true })
    ws.check(plain, { export = plain .. "/out", remove = true })
    expect.error(function() ws.check(plain .. "/nope") end, "not_found",
      ("workspace %s/nope is not a directory"):format(plain))
    expect.error(function() ws.check(repo, { path = "work" }) end, "invalid_input",
      "workspace path 'work' is not absolute")
    expect.error(function() ws.check(repo, { apply = true, export = "/tmp/x" }) end, "invalid_input",
      "--apply and --export are exclusive")
    expect.error(function() ws.check(plain, { apply = true }) end, "invalid_input",
      ("--apply needs a git repository, and %s is not one"):format(plain))
    expect.error(function() ws.check(plain, { remove = true }) end, "invalid_input",
      ("the workspace %s is not a git repository: its changes need --export DIR"):format(plain))
    expect.error(function() ws.check(repo, { export = repo }) end, "conflict",
      ("the export directory %s already exists and is not empty"):format(repo))
    expect.error(function() ws.check(repo, { export = "/nonexistent-dir/out" }) end, "not_found",
      "the export directory's parent /nonexistent-dir does not exist")
    fs.remove(plain)
    fs.remove(repo)
  end)

  it("says in one line where the changes are", function()
    local w = { source = "/src/app" }
    local r = { kind = "branch", branch = "banger/dev", added = 1, modified = 2, deleted = 3, commits = 0 }
    expect.eq(ws.describe("dev", w, r), "changes from VM 'dev' are on branch banger/dev in /src/app (1 added, 2 modified, 3 deleted)")
    r.commits = 2
    expect.eq(ws.describe("dev", w, r),
      "changes from VM 'dev' are on branch banger/dev in /src/app (2 guest commits, 1 added, 2 modified, 3 deleted)")
    r.commits, r.kind = 0, "applied"
    expect.eq(ws.describe("dev", w, r), "changes from VM 'dev' are applied to the working tree of /src/app (1 added, 2 modified, 3 deleted)")
    r.kind, r.dir = "dir", "/out"
    expect.eq(ws.describe("dev", w, r), "changes from VM 'dev' are in /out (1 added, 2 modified, 3 deleted)")
    r.kind = "pending"
    expect.eq(ws.describe("dev", w, r),
      "changes from VM 'dev' are still in its workspace (1 added, 2 modified, 3 deleted): export them with 'banger vm export dev --export DIR'")
    expect.eq(ws.describe("dev", w, { kind = "none", added = 0, modified = 0, deleted = 0, commits = 0 }),
      "no changes from VM 'dev' in the workspace")
  end)

  it("writes a disk begun later while the caller goes on, the same as one built at once", function()
    local src = fs.make_temp_dir("/tmp", "ws-later-src")
    local state = fs.make_temp_dir("/tmp", "ws-later-state")
    local now = fs.make_temp_dir("/tmp", "ws-later-now")
    fs.mkdirs(src .. "/d")
    for i = 1, 200 do fs.write(("%s/d/f%03d"):format(src, i), ("file %d\n"):format(i):rep(i)) end
    fs.write(src .. "/big", ("0123456789abcdef"):rep(4 * 65536))
    local w = ws.create(src, { vm = "later", state_dir = state, later = true })
    expect.eq(w.later, true)
    expect.eq(w.path, "/work")
    -- The file a VMM opens at boot is already its final size.
    expect.eq(fs.stat(w.disk).size, w.disk_size)
    ws.check_finished("later", w)
    local handle = _host.workspace.begin({ vm = "later2", source = src, state_dir = now })
    local done = handle:wait()
    local whole = ws.create(src, { vm = "at-once", state_dir = now })
    expect.eq(done.files, whole.files)
    expect.eq(done.entries, whole.entries)
    expect.eq(done.disk_size, whole.disk_size)
    expect.eq(done.files, 201)
    expect.error(function() handle:wait() end, "invalid_input", "~was already waited for")
    -- Discarded: waited for, then forgotten; the VM can no longer start.
    ws.discard("later")
    local img = banger.ext4.open(w.disk)
    expect.eq(img:read("/d/f200"), ("file 200\n"):rep(200))
    expect.eq(#img:read("/big"), 4 * 1048576)
    img:close()
    expect.error(function() ws.check_finished("later", w) end, "conflict",
      "VM 'later': its workspace disk was never finished (the command that created it ended while writing it)")
    ws.check_finished("later", { later = nil })
    for _, d in ipairs({ src, state, now }) do fs.remove(d) end
  end)
end)
