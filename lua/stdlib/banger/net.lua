--- Networking for VMs. `user` mode is QEMU's own (no privileges, see
--- banger.vmm); `tap` mode (root or CAP_NET_ADMIN) puts each VM on the bridge
--- banger0 with a stable address from the state index, NAT through banger's
--- own nftables tables, and guest -> host services blocked except the ports
--- allowed per VM. `ssh NAME.vm` works through a generated ssh config include.
---
--- Environment: BANGER_SUBNET (default 10.77.0.0/24), BANGER_BRIDGE
--- (default banger0), BANGER_DNS (default: the host's non-loopback name servers).
local errors = require("banger.errors")
local N = _host.net

local M = {}

local function check_name(name)
  if type(name) ~= "string" or name == "" then
    errors.raise("invalid_input", "a VM name (string) is required")
  end
end

local function check_index(index)
  if type(index) ~= "number" or index ~= math.floor(index) then
    errors.raise("invalid_input", "an address index (integer, from the state index's pool) is required")
  end
end

--- The default network mode: "tap" when privileged (and ip, nft, /dev/net/tun
--- are there), else "user".
---@return "tap"|"user"
function M.default_mode() return N.default_mode() end

--- Checks an egress policy as the VM's supervisor will parse it: `rules`
--- as `--egress` takes them (all, none, ADDR[/BITS][:PORT[/udp]],
--- NAME[:PORT[/udp]], *.NAME), `add_hosts` as `--add-host NAME:IP`.
--- `hook`: the project's hook, {source=, name=} (see egress_hook). Returns
--- what ls and inspect show ("all", "none" or the rules); an invalid_input
--- error names a bad rule, pin or hook.
---@param rules string[]
---@param add_hosts? string[]
---@param hook? {source:string, name:string}
---@return string policy
function M.check_egress(rules, add_hosts, hook)
  return N.check_egress(rules, add_hosts or {}, hook and hook.source, hook and hook.name)
end

--- Reads an egress hook file: Lua that returns `function(conn) ... end`,
--- called for each connection no rule admits with `{proto, dst_ip,
--- dst_port, name}` (name: the DNS name the address came from, if any) and
--- returning "allow" or "deny" (or true or false). It runs in the VM's
--- supervisor in a Lua state of its own, without io, os, require or load,
--- at most 50 ms a call; one that errors or runs longer denies, and the
--- network log says why.
---@param path string
---@return {source:string, name:string}
function M.egress_hook(path)
  local fs = require("banger.fs")
  if not fs.exists(path) then
    require("banger.errors").raise("not_found", ("no egress hook file %s"):format(path),
      "give a Lua file that returns function(conn) ... end")
  end
  return { source = fs.read(path), name = fs.realpath(path) }
end

--- Whether this process has CAP_NET_ADMIN (root has it).
---@return boolean
function M.privileged() return N.privileged() end

--- The tap address pool: reserve a VM's address with
--- `banger.store.insert_with_address("vm", name, data, pool.first, pool.last)`.
---@return {subnet:string, gateway:string, prefix:integer, first:integer, last:integer, bridge:string}
function M.pool() return N.pool() end

--- Creates the bridge and banger's nftables tables if missing (setup_tap does it too).
function M.ensure_bridge() N.ensure_bridge() end

---@class banger.TapSetup
---@field tap string the tap device (bg-...)
---@field mac string the VM NIC's MAC
---@field ip string the VM's address
---@field address string IP/PREFIX
---@field gateway string the bridge's address
---@field prefix integer
---@field dns string[]
---@field net_spec table {mode="tap", tap, mac, address, gateway, dns="A,B"}: vm.start's `net`

--- Sets up VM `name`'s tap for its reserved address index (idempotent).
---@param name string
---@param address_index integer
---@return banger.TapSetup
function M.setup_tap(name, address_index)
  check_name(name); check_index(address_index)
  return N.setup_tap(name, address_index)
end

--- What setup_tap returns, without touching the host.
---@param name string
---@param address_index integer
---@return banger.TapSetup
function M.describe_tap(name, address_index)
  check_name(name); check_index(address_index)
  return N.describe_tap(name, address_index)
end

--- Lets VM `name` reach the host's `port` (tcp unless `proto` is "udp").
---@param name string
---@param address_index integer
---@param port integer
---@param proto? "tcp"|"udp"
function M.allow_host_port(name, address_index, port, proto)
  check_name(name); check_index(address_index)
  if type(port) ~= "number" then errors.raise("invalid_input", "a port number is required") end
  N.allow_host_port(name, address_index, port, proto)
end

--- Removes VM `name`'s tap and rules; the bridge and tables go with the last VM.
---@param name string
---@return boolean removed whether anything was there
function M.teardown(name)
  check_name(name)
  return N.teardown(name)
end

--- Removes the taps and rules of VMs not in `names` (banger's own only).
---@param names string[] the VMs that should keep their network
---@return string[] the VMs whose leftovers were removed
function M.reconcile(names)
  if type(names) ~= "table" then errors.raise("invalid_input", "reconcile needs a list of VM names") end
  return N.reconcile(names)
end

--- The installation's SSH key pair, generated on first use.
---@return {private:string, public:string, public_key_text:string}
function M.ssh_keypair() return N.ssh_keypair() end

--- Rewrites $BANGER_HOME/ssh/config (atomically) with one `Host NAME.vm` block per entry.
---@param hosts {name:string, address:string}[]
---@return string path
function M.write_ssh_config(hosts)
  if type(hosts) ~= "table" then errors.raise("invalid_input", "write_ssh_config needs a list of {name=, address=}") end
  return N.write_ssh_config(hosts)
end

--- Where the SSH files are, and the `Include` line for ~/.ssh/config.
---@return {dir:string, config:string, identity:string, include:string}
function M.ssh_paths() return N.ssh_paths() end

return M
