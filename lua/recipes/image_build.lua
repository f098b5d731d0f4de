-- banger image build [FILE]: makes the image a build file describes (see
-- banger.build and the usage below), cached by content: an unchanged file
-- is up to date at once, and the image after the packages stage is kept, so
-- a change to the files or steps starts from it.
--
-- Stages (hook them from a project recipe with recipe.base():extend{...}):
--   resolve   the build file -> its spec, the base image (pulled or built
--             when missing) and the content keys
--   packages  downloaded by the host's apt, installed offline in a VM
--             (cached as image build-HEX)
--   files     written into the build VM (mode, owner)
--   run       the steps, in order, as root in the build VM
--   publish   the VM's disk flattened into the image, renamed into place
-- A step that fails stops the build with its exit code and the tail of its
-- output; nothing is published and no VM is left (also when banger is killed:
-- a build VM's supervisor removes it when banger dies).
local GIB = 1024 ^ 3

return recipe.new {
  description = "Build an image from a build file (.banger/image.lua): base, packages, files, steps; cached by content",
  usage = [[
A build file returns a table (see docs/recipes.md, "Image builds"):

  return {
    name = "myproj-dev", from = "debian-bookworm",
    packages = { "git", "make" },
    files = { { path = "/etc/motd", content = "myproj\n", mode = "0644" } },
    run = { "useradd -m dev", "make -C /work deps" },
    workspace = true,
  }

Keys: name (the image made; required), from (an image, catalog name, OCI
reference, or another build file; required), packages (Debian packages,
downloaded by this host's apt and installed offline), files ({path=,
content=} or {path=, source=} with source a host file or directory relative
to the build file; optional mode "0755" and owner "user:group"), run (shell
commands, run as root in a VM in order), env ({NAME = VALUE} for the steps),
size (the root disk, default the base's plus 1G), workspace (true: the
project at /work for the steps, or a guest path), net (the steps' network:
user, the default, tap or none).]],
  params = {
    { "file", positional = true, metavar = "FILE", help = "the build file (default: the project's .banger/image.lua)" },
    { "rebuild", type = "bool", help = "build every stage anew, even when the image or a stage's cache is up to date" },
    { "chain", type = "table", cli = false, help = "the build files this build is the base of (a loop is an error)" },
  },
  stages = { "resolve", "packages", "files", "run", "publish" },
  run = function(ctx, args)
    local build = banger.build
    local path = args.file or build.find_file()

    local plan = ctx:stage("resolve", function()
      local spec = build.load(path)
      local chain = args.chain or {}
      for _, p in ipairs(chain) do
        if p == spec.path then
          banger.errors.raise("invalid_input", ("%s: its from leads back to itself"):format(spec.path),
            "a build file's from must end at an image, not at a build file of the chain")
        end
      end
      local from = spec.from
      if build.is_build_file(from) then
        local file = from:sub(1, 1) == "/" and from or (spec.dir .. "/" .. from)
        local next_chain = { spec.path }
        for _, p in ipairs(chain) do next_chain[#next_chain + 1] = p end
        -- Called as a step of this build: its result is returned, not printed.
        local as_step = { json = ctx.json, verbose = ctx.verbose, command = ctx.command }
        from = banger.recipe.load("image_build"):call({ file = file, rebuild = args.rebuild, chain = next_chain }, as_step).name
      end
      local base = banger.vm.ensure_image(from, ctx)
      return { spec = spec, base = base, keys = build.keys(spec, base) }
    end)
    local spec, keys = plan.spec, plan.keys

    local existing = banger.image.get(spec.name)
    if existing and existing.build_key == keys.final and not args.rebuild then
      ctx:emit(existing, function(r) return ("image '%s' is up to date (%s)"):format(r.name, spec.path) end)
      return existing
    end
    if existing then
      if existing.source ~= "build" then
        banger.errors.raise("conflict", ("image '%s' already exists and was not built from a build file"):format(spec.name),
          ("choose another name in %s, or remove it with 'banger image rm %s'"):format(spec.path, spec.name))
      end
      for _, vm in ipairs(banger.vm.list()) do
        if vm.image == spec.name then
          banger.errors.raise("conflict", ("image '%s' is used by VM '%s': it cannot be rebuilt under it"):format(spec.name, vm.name),
            ("remove the VM first: 'banger vm rm %s'"):format(vm.name))
        end
      end
    end

    banger.store.reclaim_staging()
    local scratch, hold = banger.store.staging("build-" .. spec.name)
    ctx:defer(function()
      banger.fs.remove(scratch)
      hold:release()
    end)

    -- The build VMs' root disk: the file's size, or room for what the build adds.
    local disk = spec.size or (plan.base.size + GIB)
    local base = plan.base
    local root = spec.dir:match("^(.*)/%.banger$") or spec.dir

    -- A VM from `image` that dies with this process (its supervisor removes it).
    local function start_vm(image, net, workspace)
      local vm = banger.recipe.load("vm_create"):call({
        image = image.name, name = banger.vm.generate_name("build"), cold = true, net = net,
        disk = math.max(disk, image.size or 0),
        workspace = workspace and root or nil, workspace_path = workspace,
      }, ctx)
      ctx:defer(function() banger.recipe.load("vm_rm"):call({ names = { vm.name }, force = true }, ctx) end)
      banger.recipe.load("vm_start"):call({ name = vm.name, owner = { pid = banger.process.pid(), remove = true } }, ctx)
      return vm, banger.vm.connect(vm.name)
    end
    -- Stops the VM cleanly (its filesystem whole), saves its disk as image
    -- `name`, removes it.
    local function save_vm(vm, client, name, record, replace)
      client:close()
      local lock = banger.vm.lock(vm.name)
      local ok, err = pcall(banger.vm.stop, vm.name, 60)
      lock:release()
      if not ok then error(err, 0) end
      local rec = banger.image.publish_disk(name, vm.overlay, record, ("build VM '%s''s disk"):format(vm.name), replace)
      banger.recipe.load("vm_rm"):call({ names = { vm.name }, force = true }, ctx)
      return rec
    end

    local from_cache
    base = ctx:stage("packages", function()
      if #spec.packages == 0 then return base end
      local name = build.cache_name(keys.packages)
      local cached = banger.image.get(name)
      if cached and cached.build_key == keys.packages and not args.rebuild then
        banger.progress.note(("packages: from the cache (image %s)"):format(name))
        from_cache = name
        return cached
      end
      if cached then banger.image.rm(name) end
      local debs = build.download_packages(base.name, spec.packages, scratch .. "/apt")
      if #debs == 0 then
        banger.progress.note(("packages: image '%s' has them all"):format(base.name))
        return base
      end
      banger.progress.note(("packages: installing %d .deb files in a build VM"):format(#debs))
      local vm, client = start_vm(base, "none")
      build.install_packages(client, scratch .. "/apt/debs")
      from_cache = name
      return save_vm(vm, client, name, { source = "build-cache", ref = spec.path, build_key = keys.packages, from_image = base.name })
    end)

    local vm, client
    local function vm_ready()
      if not vm then vm, client = start_vm(base, spec.net, spec.workspace) end
      return client
    end
    ctx:stage("files", function()
      if #spec.files > 0 then build.put_files(vm_ready(), spec, scratch) end
    end)
    ctx:stage("run", function()
      for i, step in ipairs(spec.run) do
        banger.progress.note(("step %d of %d: %s"):format(i, #spec.run, step))
        build.run_step(vm_ready(), step, { what = ("step %d of %d"):format(i, #spec.run), env = spec.env, cwd = spec.workspace })
      end
    end)

    local record = ctx:stage("publish", function()
      local r = { source = "build", ref = spec.path, build_key = keys.final, from_image = plan.base.name, build_from_cache = from_cache }
      -- An image built before is replaced only once the new one is whole.
      if vm then return save_vm(vm, client, spec.name, r, existing ~= nil) end
      return banger.image.publish_disk(spec.name, base.rootfs, r, ("image '%s'"):format(base.name), existing ~= nil)
    end)
    ctx:emit(record, function(r) return ("built image '%s' from %s"):format(r.name, spec.path) end)
    return record
  end,
}
