-- banger vm create [IMAGE]: a VM record, its address and its disk (a qcow2
-- overlay over the image: the same cost for any image size). Not started.
-- Missing images (catalog names and OCI references) and kernels are pulled.
-- A VM like one that booted before (same image, kernel, cpus, memory, disk,
-- network mode, init; no workspace) is made from that one's warm snapshot
-- (banger.warm): its first start restores instead of booting. --cold boots.
return recipe.new {
  description = "Create a VM from an image (pulled when missing); 'vm start' boots it",
  params = {
    { "image", positional = true, metavar = "IMAGE",
      help = "an image name, a catalog name, or an OCI reference (debian:bookworm, host:5000/a/b:tag), pulled when missing (default: debian-bookworm)" },
    { "name", help = "VM name (default: IMAGE-XXXX)" },
    { "cpus", type = "int", default = 2, min = 1, max = banger.vm.CPUS_MAX, help = "virtual CPUs" },
    { "memory", type = "size", metavar = "SIZE", min = banger.vm.MEMORY_MIN, max = banger.vm.MEMORY_MAX,
      help = "memory, e.g. 1G (default: 1G)" },
    { "net", choices = { "auto", "user", "tap", "none" }, help = "networking: user, tap (needs root), none (default: tap when privileged, else user)" },
    { "publish", short = "p", type = "list", metavar = "[ADDR:]HOST:GUEST",
      help = "forward a host port to a guest port (/udp for UDP); it binds ADDR, 127.0.0.1 unless given (0.0.0.0: every interface)" },
    { "allow_host", type = "list", metavar = "PORT[/udp]", help = "let the guest reach this host port (user: at 10.0.2.4, on the host's 127.0.0.1; tap: at the gateway)" },
    { "egress", type = "list", metavar = "RULE",
      help = "what the guest may reach: all (the default), none, ADDR[/BITS][:PORT[/udp]] or NAME[:PORT[/udp]] (*.example.com), repeated for an allow-list; user networking ('vm logs --net' shows each attempt)" },
    { "add_host", type = "list", metavar = "NAME:IP", help = "the guest's DNS answers NAME with IP (an egress rule must still allow it)" },
    { "egress_hook", metavar = "FILE", help = "a Lua file returning function(conn): decides each connection no --egress rule admits (\"allow\"/\"deny\")" },
    -- 16 TiB: the largest ext4 filesystem with 4 KiB blocks.
    { "disk", type = "size", metavar = "SIZE", max = 16 * 1024 ^ 4,
      help = "root disk size, e.g. 20G: at least the image's; the filesystem grows to fill it at boot (default: the image's size)" },
    { "kernel", help = "kernel name (default: debian-cloud)" },
    { "init", metavar = "PATH", help = "boot the image's own init (e.g. /lib/systemd/systemd); the agent runs as its service" },
    { "workspace", metavar = "DIR", help = "DIR's files in the guest at /work (a git repository: tracked and untracked files, and .git); 'vm export' brings the changes back" },
    { "workspace_path", metavar = "PATH", help = "where the workspace is in the guest (default: /work)" },
    { "mount", type = "list", metavar = "HOST:GUEST[:ro]",
      help = "share host directory HOST live at GUEST in the guest (virtiofs; :ro read-only; needs root); the VM cannot be snapshotted" },
    { "from", metavar = "SNAPSHOT", help = "make the VM from a snapshot: its first start restores it (image, kernel, cpus, memory, network mode and init are the snapshot's)" },
    { "cold", type = "bool", help = "boot, even when a warm snapshot of a VM like this one could be restored (and save none)" },
    { "workspace_later", type = "bool", cli = false,
      help = "write the workspace disk while the VM boots: this process's 'vm start' finishes it (vm run)" },
  },
  stages = { "image", "kernel", "reserve", "disk", "workspace" },
  run = function(ctx, args)
    local snap
    if args.from and args.cold then
      banger.errors.raise("invalid_input", "--cold boots the VM: it cannot also restore --from " .. args.from,
        "leave out one of them")
    end
    if args.from then
      snap = banger.snapshot.require(args.from)
      -- What the restored VM has is decided by the snapshot (its command
      -- line must match): --cpus (which has a default) is taken from it too.
      local have = { image = snap.image, memory = snap.memory_mib * 1048576, net = snap.net, kernel = snap.kernel,
        init = snap.init }
      for _, k in ipairs({ "image", "memory", "net", "kernel", "init" }) do
        if args[k] ~= nil and args[k] ~= have[k] and not (k == "net" and args[k] == "auto") then
          banger.errors.raise("invalid_input", ("--%s cannot change a VM made from snapshot '%s'"):format(k, snap.name),
            "the snapshot decides it; boot a new VM without --from to choose")
        end
      end
      args.image, args.cpus, args.memory, args.net = snap.image, snap.cpus, snap.memory_mib * 1048576, snap.net
      args.kernel, args.init = snap.kernel, snap.init
    end
    local image_name = args.image or banger.vm.DEFAULT_IMAGE
    -- A mistyped image is reported as such, before a VM name is made from it.
    banger.image.check_known(image_name)
    local name = args.name or banger.vm.generate_name(banger.image.local_name(image_name))
    banger.vm.check_name(name)
    if banger.vm.get(name) then
      banger.errors.raise("conflict", ("VM '%s' already exists"):format(name),
        ("choose another name, or remove it with 'banger vm rm %s'"):format(name))
    end
    local forwards = {}
    for _, p in ipairs(args.publish or {}) do forwards[#forwards + 1] = banger.vm.parse_forward(p) end
    local memory = args.memory or banger.vm.MEMORY_DEFAULT
    local allow_host = {}
    for _, p in ipairs(args.allow_host or {}) do allow_host[#allow_host + 1] = banger.vm.parse_allow_host(p) end
    -- An egress policy is enforced in user networking, the default with one.
    local egress = args.egress and #args.egress > 0 and args.egress or nil
    local add_hosts = args.add_host and #args.add_host > 0 and args.add_host or nil
    local hook = args.egress_hook and banger.net.egress_hook(args.egress_hook) or nil
    local policy = banger.net.check_egress(egress or {}, add_hosts, hook)
    local filtered = policy ~= "all" or add_hosts ~= nil
    if filtered and (args.net == nil or args.net == "auto") then args.net = "user" end
    if filtered and args.net == "none" then
      banger.errors.raise("invalid_input", "--net none has no network for an egress policy to filter",
        "leave out --egress, --add-host and --egress-hook, or use --net user or tap")
    end
    local net = banger.vm.net_mode(args.net)
    banger.vm.check_net_options(net, forwards, allow_host)

    if args.init then banger.vm.check_init(args.init) end
    if args.workspace_path and not args.workspace then
      banger.errors.raise("invalid_input", "--workspace-path needs --workspace DIR")
    end
    if args.workspace then
      banger.workspace.check(args.workspace, { path = args.workspace_path })
    end
    local mounts = banger.vm.parse_mounts(args.mount or {})
    if snap and #mounts > 0 then
      banger.errors.raise("invalid_input", "--mount cannot be used with --from: a snapshot cannot hold a live mount",
        "boot a new VM without --from to mount host directories")
    end

    local image = ctx:stage("image", function() return banger.vm.ensure_image(image_name, ctx) end)
    local kernel = ctx:stage("kernel", function() return banger.vm.ensure_kernel(args.kernel or banger.vm.DEFAULT_KERNEL, ctx) end)

    local dir = banger.store.paths().vms .. "/" .. name
    local record = {
      image = image.name, kernel = kernel.name, cpus = args.cpus, memory_mib = math.floor(memory / 1048576),
      net = net, forwards = forwards, allow_host = allow_host, init = args.init, disk = args.disk,
      egress = egress, add_hosts = add_hosts, egress_hook = hook, egress_policy = filtered and policy or nil,
      mounts = #mounts > 0 and mounts or nil,
      state = "created", dir = dir, cold = args.cold or nil,
    }
    -- A workspace is a disk of this VM's own: no warm start with one.
    if not snap and not args.workspace and banger.warm.eligible(record) then snap = banger.warm.find(record) end
    record.from_snapshot, record.restore_pending = snap and snap.name or nil, snap and true or nil
    ctx:stage("reserve", function()
      record.address = banger.store.insert_with_address("vm", name, record, banger.vm.ADDRESS_FIRST, banger.vm.ADDRESS_LAST)
    end)
    local ok, err = pcall(ctx.stage, ctx, "disk", function()
      banger.fs.mkdirs(dir, tonumber("700", 8))
      if snap then
        record.overlay = banger.vmm.create_overlay(snap.dir .. "/disk.qcow2", dir, name, args.disk, "qcow2")
      else
        record.overlay = banger.vmm.create_overlay(image.rootfs, dir, name, args.disk)
      end
      if args.workspace then
        record.workspace = ctx:stage("workspace", function()
          -- Only an agent that knows the mount tool may be told to wait for
          -- the disk: an image pulled by an older banger has an older one.
          local later = args.workspace_later and banger.agent.is_current(image.rootfs)
          return banger.workspace.create(args.workspace,
            { vm = name, state_dir = dir, path = args.workspace_path, later = later })
        end)
      end
      banger.store.update("vm", name, record)
    end)
    if not ok then
      -- Nothing half-made stays: the record, its address and the directory go.
      banger.workspace.discard(name)
      banger.store.remove("vm", name)
      banger.fs.remove(dir)
      error(err, 0)
    end
    record.name = name
    ctx:emit(record, function(r) return ("created VM '%s' (image %s)"):format(r.name, r.image) end)
    return record
  end,
}
