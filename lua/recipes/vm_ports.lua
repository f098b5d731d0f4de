-- banger vm ports NAME: the sockets listening in the guest, and forwards.
return recipe.new {
  description = "List the ports listening in a running VM and the host ports forwarded to it",
  params = { { "name", positional = true, required = true, metavar = "NAME" } },
  run = function(ctx, args)
    local rec = banger.vm.require(args.name)
    local client = banger.vm.connect(args.name)
    local ports = client:ports()
    client:close()
    ctx:emit({ listening = ports, forwards = rec.forwards or banger.json.array() }, function(v)
      local out = { ("%-6s %-24s %s"):format("PROTO", "ADDRESS", "PORT") }
      for _, p in ipairs(v.listening) do out[#out + 1] = ("%-6s %-24s %d"):format(p.proto, p.address, p.port) end
      for _, f in ipairs(v.forwards) do
        out[#out + 1] = ("forward %s:%d -> guest %d/%s"):format(f.host_addr, f.host_port, f.guest_port, f.proto)
      end
      return table.concat(out, "\n")
    end)
  end,
}
