--- The stdlib's own documentation, read from its LuaCATS comments (the
--- `---` lines above each `function M.name(...)`), for the REPL's help.
local M = {}

local function source(module)
  return _host.core.read_source("lua/stdlib/banger/" .. module .. ".lua")
end

--- The modules of the stdlib, each with the first line of its description.
---@return {name:string, summary:string}[] sorted by name
function M.modules()
  local out = {}
  for _, path in ipairs(_host.core.list_source("lua/stdlib/banger")) do
    local name = path:match("([%w_]+)%.lua$")
    if name and name ~= "init" then
      local first = (source(name) or ""):match("^%-%-%-%s*([^\n]*)") or ""
      out[#out + 1] = { name = name, summary = first }
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

--- A module's documented functions: `name(params)` and the first line of
--- the comment above it; nil when there is no such module.
---@param module string e.g. "image"
---@return {name:string, signature:string, summary:string}[]|nil
function M.functions(module)
  local text = source(module)
  if not text then return nil end
  local out, doc = {}, {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local fname, fparams = line:match("^function M[%.:]([%w_]+)(%b())")
    if fname then
      out[#out + 1] = { name = fname, signature = module .. "." .. fname .. fparams, summary = doc[1] or "" }
      doc = {}
    elseif line:match("^%-%-%-") then
      local body = line:match("^%-%-%-%s?(.*)$")
      if not body:match("^@") then doc[#doc + 1] = body end
    else
      doc = {}
    end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- The API reference (docs/api.md, `banger help --api`), made from the same
-- comments, so the reference and the code cannot drift apart.

-- Pieces of one module's source: its description, its classes (handles and
-- option tables, with their fields) and its functions with their docs.
-- A field's type and its description: a `fun(...)` type holds spaces, and
-- so may its return type (`{a: string}[]`).
local function field_type(rest)
  if not rest:match("^fun%(") then return rest:match("^(%S+)%s*(.*)$") end
  local ftype = rest:match("^fun%b()")
  local after = rest:sub(#ftype + 1)
  local ret = after:match("^:%s*(%b{}%S*)") or after:match("^:%s*(%S+)")
  if ret then
    ftype = ftype .. ": " .. ret
    after = after:sub(select(2, after:find(ret, 1, true)) + 1)
  end
  return ftype, (after:gsub("^%s+", ""))
end

local function parse_module(text)
  local mod = { description = {}, classes = {}, functions = {} }
  local doc, class, at_top = {}, nil, true
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local body = line:match("^%-%-%-%s?(.*)$")
    if at_top then
      if body and not body:match("^@") then mod.description[#mod.description + 1] = body
      else at_top = false end
    end
    if not at_top then
      local cname, cdesc = (body or ""):match("^@class%s+([%w_.]+)%s*(.*)$")
      local parent = cdesc and cdesc:match("^:%s*([%w_.]+)")
      if parent then cdesc = ("(all of `%s`, and:) %s"):format(parent, cdesc:gsub("^:%s*[%w_.]+%s*", "")) end
      local fname = (body or ""):match("^@field%s+([%w_]+%??)%s")
      if cname then
        class = { name = cname, description = cdesc, fields = {} }
        mod.classes[#mod.classes + 1] = class
        doc = {}
      elseif fname and class then
        local ftype, fdesc = field_type(body:match("^@field%s+[%w_]+%??%s+(.*)$"))
        class.fields[#class.fields + 1] = { name = fname, type = ftype, description = fdesc }
      elseif body then
        class = nil
        doc[#doc + 1] = body
      else
        class = nil
        local owner, sep, name, params = line:match("^function ([%w_]+)([.:])([%w_]+)(%b())")
        if owner and not line:match("^local") then
          mod.functions[#mod.functions + 1] = { owner = owner, sep = sep, name = name, params = params, doc = doc }
        end
        doc = {}
      end
    end
  end
  return mod
end

local function render_function(out, module, f)
  local owner = f.owner == "M" and module or f.owner == "banger" and "banger" or f.owner:lower()
  out[#out + 1] = ("### `%s%s%s%s`"):format(owner, f.sep, f.name, f.params)
  out[#out + 1] = ""
  local text, params, returns = {}, {}, {}
  for _, d in ipairs(f.doc) do
    -- A table type ({a:string, b?:integer}) holds spaces: taken whole.
    local pname, ptype, pdesc = d:match("^@param%s+([%w_?]+)%s+(%b{}[%[%]%w|?]*)%s*(.*)$")
    if not pname then pname, ptype, pdesc = d:match("^@param%s+([%w_?]+)%s+(%S+)%s*(.*)$") end
    local rtype, rdesc = d:match("^@return%s+(%b{}[%[%]%w|?]*)%s*(.*)$")
    if not rtype then rtype, rdesc = d:match("^@return%s+(%S+)%s*(.*)$") end
    if pname then params[#params + 1] = ("- `%s` (`%s`)%s"):format(pname, ptype, pdesc ~= "" and (": " .. pdesc) or "")
    elseif rtype then returns[#returns + 1] = ("- returns `%s`%s"):format(rtype, rdesc ~= "" and (": " .. rdesc) or "")
    elseif not d:match("^@") then text[#text + 1] = d end
  end
  while text[#text] == "" do text[#text] = nil end
  if #text > 0 then out[#out + 1] = table.concat(text, "\n"); out[#out + 1] = "" end
  for _, l in ipairs(params) do out[#out + 1] = l end
  for _, l in ipairs(returns) do out[#out + 1] = l end
  if #params + #returns > 0 then out[#out + 1] = "" end
end

local function render_class(out, c)
  if #c.fields == 0 and c.description == "" then return end
  out[#out + 1] = ("### `%s`%s"):format(c.name, c.description ~= "" and (": " .. c.description) or "")
  out[#out + 1] = ""
  if #c.fields == 0 then return end
  out[#out + 1] = "| field | type | meaning |"
  out[#out + 1] = "|---|---|---|"
  for _, f in ipairs(c.fields) do
    out[#out + 1] = ("| `%s` | `%s` | %s |"):format(f.name, (f.type:gsub("|", "\\|")), (f.description:gsub("|", "\\|")))
  end
  out[#out + 1] = ""
end

local function render_recipe(out, name, r)
  out[#out + 1] = ("### `%s` (`banger %s`)"):format(name, (name:gsub("_", " ")))
  out[#out + 1] = ""
  if r.description then out[#out + 1] = r.description; out[#out + 1] = "" end
  if r.stages then out[#out + 1] = "Stages: " .. table.concat(r.stages, ", ") .. "."; out[#out + 1] = "" end
  if #r.params == 0 then out[#out + 1] = "No params."; out[#out + 1] = ""; return end
  out[#out + 1] = "| param | type | default | meaning |"
  out[#out + 1] = "|---|---|---|---|"
  for _, p in ipairs(r.params) do
    local t = p.rest and "list (the rest)" or p.type or "string"
    if p.positional then t = t .. ", positional" end
    if p.choices then t = t .. ": " .. table.concat(p.choices, ", ") end
    local default = p.required and "required" or p.default ~= nil and ("`" .. tostring(p.default) .. "`") or ""
    local help = (p.help or ""):gsub("|", "\\|")
    if p.cli == false then help = help .. " (from Lua only)" end
    out[#out + 1] = ("| `%s` | %s | %s | %s |"):format(p[1], t, default, help)
  end
  out[#out + 1] = ""
end

--- The Lua API reference as Markdown: every stdlib module's functions,
--- handle types and option tables, then each built-in recipe's params
--- (what `recipe.load(NAME):call{...}` takes).
---@return string
function M.reference()
  local out = {}
  local names = { "init" }
  for _, m in ipairs(M.modules()) do names[#names + 1] = m.name end
  for _, name in ipairs(names) do
    local mod = parse_module(source(name) or "")
    local title = name == "init" and "banger" or "banger." .. name
    out[#out + 1] = "## `" .. title .. "`"
    out[#out + 1] = ""
    local desc = table.concat(mod.description, "\n"):gsub("%s+$", "")
    if desc ~= "" then out[#out + 1] = desc; out[#out + 1] = "" end
    for _, c in ipairs(mod.classes) do render_class(out, c) end
    for _, f in ipairs(mod.functions) do render_function(out, name == "init" and "banger" or name, f) end
  end
  out[#out + 1] = "## Built-in recipes"
  out[#out + 1] = ""
  out[#out + 1] = "`banger.recipe.load(NAME):call(args, ctx)` takes the params below by name, checked as the"
  out[#out + 1] = "command line checks them (an unknown or missing one is an error)."
  out[#out + 1] = ""
  local recipes = {}
  for _, path in ipairs(_host.core.list_source("lua/recipes")) do
    local name = path:match("([%w_]+)%.lua$")
    if name then recipes[#recipes + 1] = name end
  end
  table.sort(recipes)
  local recipe = require("banger.recipe")
  for _, name in ipairs(recipes) do render_recipe(out, name, recipe.builtin(name)) end
  return (table.concat(out, "\n"):gsub("\n+$", "")) .. "\n"
end

return M
