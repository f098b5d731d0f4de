--- Command-line parsing generated from a recipe's declared params.
---
--- A param is a table: `{ "name", type = "string"|"int"|"size"|"bool"|"list",
--- short = "n", default = v, required = true, positional = true,
--- rest = true, metavar = "REF", help = "...", min = n, max = n }` (`min` and
--- `max` bound an int or a size; `cli = false` makes a param that only a
--- Lua caller gives, e.g. `type = "table"`). Positional params are filled
--- in order; a `rest` param takes everything after `--` (or after the
--- positionals); `list` params may repeat.
local errors = require("banger.errors")

local M = {}

--- The global flags (cli.lua): where a command's options may stand, these
--- set `globals[name]` unless the recipe declares the flag itself.
M.GLOBAL_FLAGS = { ["-v"] = "verbose", ["--verbose"] = "verbose", ["--json"] = "json" }

local function flag_name(p) return "--" .. p[1]:gsub("_", "-") end
local function metavar(p) return p.metavar or p[1]:upper():gsub("-", "_") end

local units = { [""] = 1, b = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4 }
local unit_names = { "T", "G", "M", "K" }
-- Numbers past 2^53 are not exact in Lua (a double): larger ones are refused
-- rather than rounded, so nothing wraps on the way to the host.
local EXACT = 2 ^ 53

-- A size's value in bytes, however large (a double); nil when not a size.
local function size_value(text)
  local num, unit = tostring(text):lower():match("^(%d+%.?%d*)%s*([bkmgt]?)i?b?$")
  if not num then return nil end
  return tonumber(num) * units[unit]
end

--- Parses "512M", "10G", "1.5g", "4096" into bytes; nil when it is not a
--- size or does not fit in an exact integer (2^53 bytes, 8 PiB).
---@param text string
---@return integer|nil
function M.parse_size(text)
  local n = size_value(text)
  if not n or n >= EXACT then return nil end
  return math.floor(n)
end

--- A byte count as the user would write it: 134217728 -> "128M".
---@param n integer
---@return string
function M.format_size(n)
  for i, u in ipairs(unit_names) do
    local scale = 1024 ^ (#unit_names - i + 1)
    if n >= scale and n % scale == 0 then return ("%d%s"):format(n / scale, u) end
  end
  return tostring(n)
end

local function param_name(p) return p.positional and metavar(p) or flag_name(p) end

-- A param's `min` / `max`: the same check for the command line and for a
-- recipe called from Lua.
local function check_range(p, n, command, raw)
  if (p.min and n < p.min) or (p.max and n > p.max) then
    local fmt = p.type == "size" and M.format_size or tostring
    local range = (p.min and p.max) and ("between %s and %s"):format(fmt(p.min), fmt(p.max))
      or p.max and ("at most %s"):format(fmt(p.max)) or ("at least %s"):format(fmt(p.min))
    errors.raise("invalid_input", ("%s for '%s' must be %s, got '%s'"):format(
      param_name(p), command, range, tostring(raw or n)))
  end
  return n
end

local function too_large(p, n, command, raw)
  check_range(p, n, command, raw)
  errors.raise("invalid_input", ("%s for '%s' is too large: '%s'"):format(param_name(p), command, raw))
end

local function convert(p, raw, command)
  local t = p.type or "string"
  if t == "int" then
    local n = tonumber(raw)
    if not n or n ~= math.floor(n) then
      errors.raise("invalid_input", ("%s for '%s' must be a whole number, got '%s'"):format(param_name(p), command, raw))
    end
    if math.abs(n) >= EXACT then too_large(p, n, command, raw) end
    return check_range(p, n, command, raw)
  elseif t == "size" then
    local n = size_value(raw)
    if not n then
      errors.raise("invalid_input", ("%s for '%s' must be a size like 512M or 10G, got '%s'"):format(
        param_name(p), command, raw))
    end
    if n >= EXACT then too_large(p, n, command, raw) end
    return check_range(p, math.floor(n), command, raw)
  end
  if p.choices then
    for _, c in ipairs(p.choices) do if c == raw then return raw end end
    errors.raise("invalid_input", ("%s for '%s' must be one of %s, got '%s'"):format(
      flag_name(p), command, table.concat(p.choices, ", "), raw))
  end
  return raw
end

--- Parses argv for a recipe's params.
---@param params table[] the recipe's params
---@param argv string[]
---@param command string how the user typed the command ("banger image pull")
---@param globals? table receives the global flags given among the options
---@return table args by param name (`help = true` when -h/--help was given)
function M.parse(params, argv, command, globals)
  local out, by_flag, by_short, positionals, rest = {}, {}, {}, {}, nil
  local hint = ("run '%s --help' to see its usage"):format(command)
  for _, p in ipairs(params) do
    if p.rest then rest = p
    elseif p.positional then positionals[#positionals + 1] = p
    elseif p.cli ~= false then  -- a Lua-only param is no flag
      by_flag[flag_name(p)] = p
      if p.short then by_short["-" .. p.short] = p end
    end
    if p.type == "list" or p.rest then out[p[1]] = {} end
    if p.default ~= nil then out[p[1]] = p.default end
    if p.type == "bool" and out[p[1]] == nil then out[p[1]] = false end
  end

  local i, npos = 1, 0
  local function take_value(p, inline, arg)
    if inline then return inline end
    i = i + 1
    if argv[i] == nil then
      errors.raise("invalid_input", ("option %s for '%s' needs a value"):format(arg, command), hint)
    end
    return argv[i]
  end

  while i <= #argv do
    local arg = argv[i]
    if arg == "--" then
      if not rest then errors.raise("invalid_input", ("'%s' takes no command after --"):format(command), hint) end
      for j = i + 1, #argv do table.insert(out[rest[1]], argv[j]) end
      break
    elseif arg == "-h" or arg == "--help" then
      out.help = true
    elseif arg:sub(1, 1) == "-" and #arg > 1 and not tonumber(arg) then
      local name, inline = arg:match("^(%-%-[^=]+)=(.*)$")
      name = name or arg
      local p = by_flag[name] or by_short[name]
      local negated = false
      if not p and name:sub(1, 5) == "--no-" then
        p = by_flag["--" .. name:sub(6)]
        negated = p ~= nil and p.type == "bool"
        if not negated then p = nil end
      end
      if not p and globals and M.GLOBAL_FLAGS[arg] then
        globals[M.GLOBAL_FLAGS[arg]] = true
      elseif not p then
        errors.raise("invalid_input", ("unknown option '%s' for '%s'"):format(name, command), hint)
      elseif p.type == "bool" then
        if inline then
          errors.raise("invalid_input", ("option %s for '%s' takes no value"):format(name, command), hint)
        end
        out[p[1]] = not negated
      elseif p.type == "list" then
        table.insert(out[p[1]], convert(p, take_value(p, inline, name), command))
      else
        out[p[1]] = convert(p, take_value(p, inline, name), command)
      end
    else
      npos = npos + 1
      local p = positionals[npos]
      if p then
        out[p[1]] = convert(p, arg, command)
      elseif rest and not rest.after_dashes_only then
        for j = i, #argv do
          if argv[j] ~= "--" or j > i then table.insert(out[rest[1]], argv[j]) end
        end
        break
      else
        errors.raise("invalid_input", ("unexpected argument '%s' for '%s'"):format(arg, command), hint)
      end
    end
    i = i + 1
  end

  if not out.help then
    for _, p in ipairs(params) do
      if p.required and p.cli ~= false and (out[p[1]] == nil or (p.rest and #out[p[1]] == 0)) then
        local what = p.positional and metavar(p) or flag_name(p)
        errors.raise("invalid_input", ("missing %s for '%s'"):format(what, command), hint)
      end
    end
  end
  return out
end

-- What a value from Lua must be, by param type: a table call is held to the
-- command line's rules, so a typo or a wrong kind is an error, not a default.
local LUA_KINDS = { string = "string", bool = "boolean", list = "table", table = "table" }

local function check_lua_value(p, value, command)
  local t = p.rest and "list" or p.type or "string"
  if t == "int" or t == "size" then
    if type(value) == "number" then
      if t == "int" and value ~= math.floor(value) then
        errors.raise("invalid_input", ("%s for '%s' must be a whole number, got '%s'"):format(
          param_name(p), command, tostring(value)))
      end
      return check_range(p, value, command)
    end
    if type(value) == "string" then return convert(p, value, command) end
  elseif type(value) == LUA_KINDS[t] then
    if t == "string" and p.choices then return convert(p, value, command) end
    return value
  end
  errors.raise("invalid_input", ("%s for '%s' must be a %s, got %s"):format(
    param_name(p), command, t == "bool" and "boolean" or t == "list" and "list (a table)" or t, type(value)))
end

--- Checks a recipe's args given from Lua as the command line would be
--- checked (unknown names, kinds, ranges, required ones) and fills what the
--- caller left out with the params' defaults.
---@param params table[]
---@param args table
---@param command? string
---@return table args
function M.with_defaults(params, args, command)
  command = command or "recipe"
  local declared, names = {}, {}
  for _, p in ipairs(params) do declared[p[1]] = p; names[#names + 1] = p[1] end
  for key in pairs(args) do
    if not declared[key] and key ~= "help" then
      local near = type(key) == "string" and require("banger.suggest").closest(key, names)
      errors.raise("invalid_input", ("unknown param '%s' for '%s'"):format(tostring(key), command),
        near and ("did you mean '%s'?"):format(near) or ("its params: " .. table.concat(names, ", ")))
    end
  end
  for _, p in ipairs(params) do
    local name = p[1]
    if args[name] ~= nil then args[name] = check_lua_value(p, args[name], command) end
    if args[name] == nil then
      if p.default ~= nil then args[name] = p.default
      elseif p.type == "list" or p.rest then args[name] = {}
      elseif p.type == "bool" then args[name] = false end
    end
    if p.required and (args[name] == nil or (p.rest and #args[name] == 0)) then
      errors.raise("invalid_input", ("missing %s for '%s'"):format(param_name(p), command))
    end
  end
  return args
end

--- The --help text for a recipe.
---@param recipe table
---@param command string
---@return string
function M.help(recipe, command)
  local params = recipe.params or {}
  local usage = { "Usage: " .. command }
  local has_options = false
  for _, p in ipairs(params) do
    if p.positional then
      usage[#usage + 1] = p.required and metavar(p) or "[" .. metavar(p) .. "]"
    elseif not p.rest and p.cli ~= false then
      has_options = true
    end
  end
  if has_options then usage[#usage + 1] = "[options]" end
  for _, p in ipairs(params) do
    if p.rest then
      local dashes = p.dashes == false and "" or "-- "
      usage[#usage + 1] = (p.required and "" or "[") .. dashes .. metavar(p) .. "..." .. (p.required and "" or "]")
    end
  end
  local lines = { table.concat(usage, " "), "" }
  if recipe.description then lines[#lines + 1] = recipe.description; lines[#lines + 1] = "" end
  local rows = {}
  for _, p in ipairs(params) do
    if p.cli == false then goto continue end
    local left
    if p.positional or p.rest then left = metavar(p)
    else
      left = (p.short and ("-" .. p.short .. ", ") or "    ") .. flag_name(p)
      if p.type ~= "bool" then left = left .. " " .. metavar(p) end
    end
    local help = p.help or ""
    if p.default ~= nil and p.type ~= "bool" and p.type ~= "list" then
      help = help .. (" (default: %s)"):format(tostring(p.default))
    end
    if p.type == "list" then help = help .. " (repeatable)" end
    rows[#rows + 1] = { left, help, p.positional or p.rest }
    ::continue::
  end
  rows[#rows + 1] = { "-h, --help", "show this help" }
  local width = 0
  for _, r in ipairs(rows) do width = math.max(width, #r[1]) end
  local function section(title, positional)
    local any = false
    for _, r in ipairs(rows) do
      if (r[3] and true or false) == positional then
        if not any then lines[#lines + 1] = title; any = true end
        lines[#lines + 1] = ("  %-" .. width .. "s  %s"):format(r[1], r[2])
      end
    end
  end
  section("Arguments:", true)
  section("Options:", false)
  if recipe.usage then lines[#lines + 1] = ""; lines[#lines + 1] = recipe.usage end
  return table.concat(lines, "\n") .. "\n"
end

return M
