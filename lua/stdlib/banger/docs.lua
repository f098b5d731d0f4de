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

return M
