--- The REPL: LuaJIT with the stdlib loaded (`banger`, and each module as a
--- global: `image`, `vm`, `kernel`, ...). Expressions print their values;
--- incomplete input continues on the next line; TAB completes globals and
--- fields. Reading from a pipe evaluates the input and prints results.
local pretty = require("banger.pretty")
local errors = require("banger.errors")

local M = {}

--- The REPL's help: `help` (or `help()`) lists the modules, `help(image)` or
--- `help("image")` a module's functions with the first line of their docs.
---@param what? table|string a stdlib module or its name
---@return string
function M.help(what)
  local docs = require("banger.docs")
  local lines = {}
  if what == nil then
    lines[1] = "The stdlib's modules are globals here (image, vm, kernel, ...), also as banger.NAME:"
    for _, m in ipairs(docs.modules()) do lines[#lines + 1] = ("  %-9s %s"):format(m.name, m.summary) end
    lines[#lines + 1] = "help(image) lists a module's functions; TAB completes names; an expression prints its value."
    lines[#lines + 1] = "Ctrl-C cancels the line being typed; Ctrl-D exits."
    return table.concat(lines, "\n")
  end
  local name = what
  if type(what) == "table" then
    for k, v in pairs(package.loaded) do
      if v == what and type(k) == "string" and k:match("^banger%.") then name = k:sub(8) end
    end
  end
  local fns = type(name) == "string" and docs.functions(name)
  if not fns then
    return ("help: %s is not a stdlib module; help() lists them"):format(type(what) == "string" and ("'" .. what .. "'") or tostring(what))
  end
  for _, f in ipairs(fns) do lines[#lines + 1] = ("  %s  %s"):format(f.signature, f.summary) end
  return table.concat(lines, "\n")
end

--- The environment REPL code runs in: globals plus the stdlib modules.
function M.environment()
  local banger = require("banger")
  local env = setmetatable({ banger = banger, help = function(what) print(M.help(what)) end }, {
    __index = function(_, k)
      local v = _G[k]
      if v ~= nil then return v end
      return banger[k]
    end,
  })
  return env
end

-- Compiles `source` as an expression if it is one, else as statements.
-- Returns fn, or nil + "incomplete" / nil + error message.
function M.compile(source, env)
  -- A bare `help`, as in Python's REPL, is the call.
  if source:match("^%s*help%s*$") then source = "help()" end
  -- Top-level locals would vanish after their line: keep them in env.
  source = source:gsub("^(%s*)local%s+function%s", "%1function ")
  source = source:gsub("^(%s*)local%s+([%w_,%s]+=)", "%1%2")
  local fn = loadstring("return " .. source, "=repl")
  if not fn then
    local err
    fn, err = loadstring(source, "=repl")
    if not fn then
      if err:find("<eof>", 1, true) then return nil, "incomplete" end
      return nil, err
    end
  end
  setfenv(fn, env)
  return fn
end

-- Runs fn and prints each result (or the error).
function M.run(fn, out)
  local results = { pcall(fn) }
  local ok = table.remove(results, 1)
  if not ok then
    local e = results[1]
    if errors.is(e) then
      out("error: " .. e.message .. (e.hint and ("\n  hint: " .. e.hint) or ""))
    else
      out("error: " .. tostring(e))
    end
    return false
  end
  local n = select("#", unpack(results))
  for i = 1, math.max(n, #results) do out(pretty.format(results[i])) end
  return true
end

--- Candidates completing `word` ("banger.im" -> "banger.image").
function M.complete(env, word)
  local prefix, sep, partial = word:match("^(.-)([%.:]?)([%w_]*)$")
  local target = env
  if sep ~= "" then
    local fn = loadstring("return " .. prefix, "=complete")
    if not fn then return {} end
    setfenv(fn, env)
    local ok, v = pcall(fn)
    if not ok then return {} end
    target = v
  end
  local out, seen = {}, {}
  local function add_keys(t)
    if type(t) ~= "table" then return end
    for k in pairs(t) do
      if type(k) == "string" and k:sub(1, #partial) == partial and not seen[k] and k:sub(1, 1) ~= "_" then
        seen[k] = true
        out[#out + 1] = prefix .. sep .. k
      end
    end
  end
  if type(target) == "table" then add_keys(target) end
  if target == require("banger") then
    -- Modules load on first use: offer the ones not loaded yet too.
    local names = {}
    for _, path in ipairs(_host.core.list_source("lua/stdlib/banger")) do
      local n = path:match("([%w_]+)%.lua$")
      if n and n ~= "init" then names[n] = true end
    end
    add_keys(names)
  end
  local mt = (type(target) == "table" or type(target) == "userdata") and getmetatable(target)
  if mt and type(mt.__index) == "table" then add_keys(mt.__index) end
  if target == env then
    add_keys(_G)
    for _, name in ipairs({ "image", "vm", "kernel", "oci", "ext4", "store", "recipe", "fs", "process", "json", "errors" }) do
      if name:sub(1, #partial) == partial and not seen[name] then out[#out + 1] = name end
    end
  end
  table.sort(out)
  return out
end

--- Evaluates a whole text (from a pipe): statement groups run as soon as
--- they are complete; expression results are printed.
---@return boolean ok
function M.run_text(text, env, out)
  local buffer, ok_all = "", true
  for line in (text .. "\n"):gmatch("(.-)\n") do
    buffer = buffer == "" and line or (buffer .. "\n" .. line)
    if buffer:match("^%s*$") then
      buffer = ""
    else
      local fn, err = M.compile(buffer, env)
      if fn then
        ok_all = M.run(fn, out) and ok_all
        buffer = ""
      elseif err ~= "incomplete" then
        out("error: " .. err)
        ok_all = false
        buffer = ""
      end
    end
  end
  if buffer ~= "" then
    local _, err = M.compile(buffer, env)
    out("error: " .. tostring(err == "incomplete" and "unexpected end of input" or err))
    ok_all = false
  end
  return ok_all
end

--- The line the interactive REPL starts with; each thing it suggests works.
---@return string
function M.banner()
  return ("banger %s REPL (LuaJIT). Try: image.list(), banger.recipe.list(), help. "):format(
    require("banger").version()) .. "Ctrl-C cancels a line, Ctrl-D exits."
end

--- The interactive loop.
function M.interactive(env)
  local R = _host.repl
  local history = require("banger.store").paths().home .. "/repl_history"
  R.load_history(history)
  R.set_completer(function(_, word) return M.complete(env, word) end)
  print(M.banner())
  local buffer = ""
  while true do
    local line = R.readline(buffer == "" and "banger> " or "   ...> ")
    if line == nil then print(); break end
    if line == false then
      -- Ctrl-C: the line (and any unfinished statement) is dropped.
      print()
      buffer = ""
    else
      buffer = buffer == "" and line or (buffer .. "\n" .. line)
    end
    if not buffer:match("^%s*$") then
      local fn, err = M.compile(buffer, env)
      if fn or err ~= "incomplete" then
        R.add_history(buffer)
        if fn then M.run(fn, print) else print("error: " .. err) end
        buffer = ""
      end
    else
      buffer = ""
    end
  end
  R.save_history(history)
end

return M
