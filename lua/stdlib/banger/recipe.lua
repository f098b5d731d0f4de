--- Recipes: Lua files that return `recipe.new { ... }` — a description,
--- params (which make the command line) and `run(ctx, args)`.
---
--- Lookup order for a name: the project's `.banger/recipes/` (the nearest one
--- walking up from the current directory), `$XDG_CONFIG_HOME/banger/recipes/`,
--- then the built-ins embedded in the binary. A recipe may replace a built-in,
--- wrap it (`recipe.base()` is the one it shadows) or hook its named stages
--- (`base:extend { after = { build = function(ctx, v) ... end } }`).
local errors = require("banger.errors")
local args_lib = require("banger.args")
local fs = require("banger.fs")
local core = _host.core

local M = {}

local Recipe = {}
Recipe.__index = Recipe

local function check_params(params, where)
  local seen = {}
  for i, p in ipairs(params) do
    if type(p) ~= "table" or type(p[1]) ~= "string" then
      errors.raise("invalid_input", ("%s: param #%d must be a table whose first entry is its name"):format(where, i))
    end
    if seen[p[1]] then errors.raise("invalid_input", ("%s: param '%s' is declared twice"):format(where, p[1])) end
    seen[p[1]] = true
    local t = p.type or "string"
    local known = t == "string" or t == "int" or t == "size" or t == "bool" or t == "list"
    if not known and not (t == "table" and p.cli == false) then
      errors.raise("invalid_input", ("%s: param '%s' has unknown type '%s'"):format(where, p[1], t))
    end
  end
end

--- Makes a recipe from its definition.
---@param def {name?:string, description?:string, usage?:string, params?:table[], stages?:string[], run:fun(ctx:table, args:table):any, before?:table, after?:table, replace?:table}
---@return table recipe
function M.new(def)
  if type(def) ~= "table" or type(def.run) ~= "function" then
    errors.raise("invalid_input", "recipe.new needs a table with a run(ctx, args) function")
  end
  local r = setmetatable({}, Recipe)
  for k, v in pairs(def) do r[k] = v end
  r.params = r.params or {}
  r.before, r.after, r.replace = r.before or {}, r.after or {}, r.replace or {}
  check_params(r.params, r.name or "recipe")
  return r
end

--- True for values made by recipe.new.
function M.is_recipe(v) return getmetatable(v) == Recipe end

--- A copy of this recipe with stage hooks added: `before[stage](ctx, ...)`,
--- `after[stage](ctx, result) -> result?`, `replace[stage](ctx, ...) -> result`.
--- Other fields given (description, params, ...) replace the base's.
---@param spec table
---@return table recipe
function Recipe:extend(spec)
  local r = setmetatable({}, Recipe)
  for k, v in pairs(self) do r[k] = v end
  for k, v in pairs(spec) do
    if k ~= "before" and k ~= "after" and k ~= "replace" then r[k] = v end
  end
  for _, kind in ipairs({ "before", "after", "replace" }) do
    local merged = {}
    for stage, fn in pairs(self[kind] or {}) do merged[stage] = fn end
    for stage, fn in pairs(spec[kind] or {}) do
      if self.stages and not self:has_stage(stage) then
        errors.raise("invalid_input", ("recipe '%s' has no stage '%s' (its stages: %s)"):format(
          self.name or "?", stage, table.concat(self.stages, ", ")))
      end
      local inner = merged[stage]
      if kind == "after" and inner then
        merged[stage] = function(ctx, v)
          local r1 = inner(ctx, v)
          if r1 ~= nil then v = r1 end
          local r2 = fn(ctx, v)
          if r2 ~= nil then return r2 end
          return v
        end
      elseif kind == "before" and inner then
        merged[stage] = function(ctx, ...) inner(ctx, ...); fn(ctx, ...) end
      else
        merged[stage] = fn
      end
    end
    r[kind] = merged
  end
  return r
end

function Recipe:has_stage(stage)
  for _, s in ipairs(self.stages or {}) do if s == stage then return true end end
  return false
end

-- The context a recipe runs with: parsed args, output mode, stages, cleanup.
local Ctx = {}
Ctx.__index = Ctx

local function new_ctx(recipe, args, parent)
  local ctx = setmetatable({
    recipe = recipe,
    args = args,
    json = parent and parent.json or false,
    verbose = parent and parent.verbose or false,
    command = parent and parent.command or ("banger " .. (recipe.name or "run")),
    -- A recipe called by another recipe returns its result instead of
    -- printing it, unless the caller wraps it (same name: the one it shadows).
    nested = parent ~= nil and not parent.top
      and not (parent.recipe ~= nil and parent.recipe.name == recipe.name and not parent.nested),
    state = {},
    -- Milliseconds each stage took, by name (stages that ran).
    timings = {},
    _cleanups = {},
  }, Ctx)
  return ctx
end

--- Runs the named stage: before-hooks, then the stage (or its replacement),
--- then after-hooks, which may return a new result.
---@param name string
---@param fn function
---@return any
function Ctx:stage(name, fn, ...)
  core.check_interrupted()
  local r = self.recipe
  local t0 = core.monotonic_ms()
  require("banger.progress").stage(name)
  if r.before[name] then r.before[name](self, ...) end
  local result
  if r.replace[name] then result = r.replace[name](self, ...) else result = fn(...) end
  if r.after[name] then
    local changed = r.after[name](self, result)
    if changed ~= nil then result = changed end
  end
  self.timings[name] = math.floor(core.monotonic_ms() - t0 + 0.5)
  return result
end

--- Registers `fn` to run when the recipe ends, in reverse order, whether it
--- succeeded or failed (for removing staging dirs, stopping VMs, ...).
---@param fn function
function Ctx:defer(fn) table.insert(self._cleanups, fn) end

--- Prints `value` as JSON under --json, else through `format(value)` (or tostring).
---@param value any
---@param format? fun(value:any):string
function Ctx:emit(value, format)
  if self.nested then return end
  if self.json then
    print(require("banger.json").encode(value, true))
  elseif format then
    local text = format(value)
    if text and text ~= "" then io.write(text, text:sub(-1) == "\n" and "" or "\n") end
  elseif value ~= nil then
    print(tostring(value))
  end
end

-- Cleanups run whole after a Ctrl-C too (stopping a VM, removing a
-- staging dir must not be cancelled by the interrupt they clean up after):
-- the interrupt is held back while they run, then stands again. A Ctrl-C
-- during a cleanup cancels that one only.
local function run_cleanups(ctx)
  local interrupted = core.interrupted()
  for i = #ctx._cleanups, 1, -1 do
    core.set_interrupted(false)
    local ok, err = pcall(ctx._cleanups[i])
    interrupted = interrupted or core.interrupted()
    if not ok then core.log("warn", "cleanup failed: " .. tostring(errors.normalize(err).message)) end
  end
  core.set_interrupted(interrupted)
  ctx._cleanups = {}
end

--- Runs the recipe with already-parsed args. `parent` passes the caller's
--- ctx (output mode) when one recipe calls another.
---@param args table
---@param parent? table ctx
---@return any
function Recipe:call(args, parent)
  local own = "banger " .. (self.name or "run"):gsub("_", " ")
  -- Args are named after the command the user typed (main) or else this
  -- recipe's own, also when another recipe calls it.
  local checked_as = parent and parent.top and parent.command or own
  local ctx = new_ctx(self, args_lib.with_defaults(self.params, args or {}, checked_as), parent)
  local ok, result = xpcall(function() return self.run(ctx, ctx.args) end, function(e)
    if not errors.is(e) and core.getenv("BANGER_DEBUG_TRACE") then e = tostring(e) .. "\n" .. debug.traceback() end
    _G._BANGER_TRACEBACK = debug.traceback("", 2)
    return e
  end)
  run_cleanups(ctx)
  if not ok then error(result, 0) end
  return result
end

--- Parses argv and runs the recipe, as the CLI does.
---@param argv string[]
--- Global flags among the command's options (`image ls --json`) land in
--- `opts.globals`, and `opts.on_globals(globals)` runs before the recipe.
---@param opts? {command?:string, globals?:{json:boolean, verbose:boolean}, on_globals?:fun(globals:table)}
---@return any
function Recipe:main(argv, opts)
  opts = opts or {}
  local command = opts.command or ("banger " .. (self.name or "run"))
  local globals = opts.globals or { json = false, verbose = false }
  local args = args_lib.parse(self.params, argv or {}, command, globals)
  if opts.on_globals then opts.on_globals(globals) end
  if args.help then
    io.write(args_lib.help(self, command))
    return nil
  end
  return self:call(args, { json = globals.json, verbose = globals.verbose, command = command, top = true })
end

-- ---------------------------------------------------------------------------
-- Lookup

--- The project's recipe directory: the nearest `.banger/recipes` walking up
--- from the current directory (or from `start`), or nil.
---@param start? string
---@return string|nil
function M.project_dir(start)
  local dir = start or core.cwd()
  while true do
    local cand = dir .. "/.banger/recipes"
    if fs.is_dir(cand) then return cand end
    if dir == "/" or dir == "" then return nil end
    dir = fs.dirname(dir)
  end
end

--- The user's recipe directory ($XDG_CONFIG_HOME/banger/recipes).
---@return string
function M.user_dir() return core.paths().config_home .. "/recipes" end

-- Sources in lookup order: {origin=, dir=} or the built-ins.
local function sources()
  local out = {}
  local project = M.project_dir()
  if project then out[#out + 1] = { origin = "project", dir = project } end
  local user = M.user_dir()
  if fs.is_dir(user) then out[#out + 1] = { origin = "user", dir = user } end
  out[#out + 1] = { origin = "builtin", dir = "lua/recipes", embedded = true }
  return out
end

local function recipe_files(src)
  local out = {}
  if src.embedded then
    for _, path in ipairs(core.list_source(src.dir)) do
      local name = path:match("([^/]+)%.lua$")
      if name then out[name] = path end
    end
  else
    for _, file in ipairs(fs.list(src.dir)) do
      local name = file:match("^(.+)%.lua$")
      if name then out[name] = src.dir .. "/" .. file end
    end
  end
  return out
end

--- Every place that defines `name`, winner first: {name=, origin=, path=}.
---@param name string
---@return table[]
function M.candidates(name)
  local out = {}
  for _, src in ipairs(sources()) do
    local path = recipe_files(src)[name]
    if path then out[#out + 1] = { name = name, origin = src.origin, path = path, embedded = src.embedded } end
  end
  return out
end

--- All recipes by name, each with where it comes from and what it shadows.
---@return table[] sorted by name: {name=, origin=, path=, shadows={origin...}}
function M.list()
  local by_name, names = {}, {}
  for _, src in ipairs(sources()) do
    for name, path in pairs(recipe_files(src)) do
      if not by_name[name] then
        by_name[name] = { name = name, origin = src.origin, path = path, embedded = src.embedded, shadows = {} }
        names[#names + 1] = name
      else
        table.insert(by_name[name].shadows, src.origin)
      end
    end
  end
  table.sort(names)
  local out = require("banger.json").array()
  for _, n in ipairs(names) do out[#out + 1] = by_name[n] end
  return out
end

-- Globals a recipe may read besides the standard library.
local function recipe_env(path)
  local env = {
    banger = require("banger"),
    recipe = M,
  }
  return setmetatable(env, {
    __index = function(_, k)
      if k == "_host" then
        errors.raise("invalid_input", ("recipe %s uses _host, banger's internal native layer"):format(path),
          "use the documented banger.* API instead (see docs/recipes.md)")
      end
      local v = _G[k]
      if v == nil then
        error(("undeclared global '%s' (declare it with local)"):format(tostring(k)), 2)
      end
      return v
    end,
    __newindex = function(_, k)
      error(("assignment to undeclared global '%s' (declare it with local)"):format(tostring(k)), 2)
    end,
  })
end

-- Which recipe file is being loaded: recipe.base() answers relative to it.
local loading = {}

local function load_chunk(cand)
  local source, chunkname
  if cand.embedded then
    source = core.read_source(cand.path)
    chunkname = "@" .. cand.path
  else
    source = fs.read(cand.path)
    chunkname = "@" .. cand.path
  end
  local chunk, err = loadstring(source, chunkname)
  if not chunk then errors.raise("invalid_input", ("recipe %s does not compile: %s"):format(cand.path, err)) end
  setfenv(chunk, recipe_env(cand.path))
  return chunk
end

--- Loads a recipe (or plain script) file. Returns the recipe, or nil plus the
--- chunk's results when the file returns no recipe.
---@param cand {path:string, name?:string, origin?:string, embedded?:boolean}
---@return table|nil recipe
function M.load_candidate(cand)
  local chunk = load_chunk(cand)
  table.insert(loading, cand)
  local ok, result = pcall(chunk)
  table.remove(loading)
  if not ok then error(result, 0) end
  if M.is_recipe(result) then
    if not result.name then result.name = cand.name or fs.basename(cand.path):gsub("%.lua$", "") end
    result.origin = result.origin or cand.origin
    result.path = result.path or cand.path
    return result
  end
  return nil, result
end

--- Loads the winning recipe called `name`; nil when there is none.
---@param name string
---@return table|nil
function M.find(name)
  local c = M.candidates(name)[1]
  if not c then return nil end
  return (M.load_candidate(c))
end

--- Loads the recipe called `name`, or raises not_found.
---@param name string
---@return table
function M.load(name)
  local r = M.find(name)
  if not r then
    errors.raise("not_found", ("no recipe named '%s'"):format(name), "run 'banger recipes' to list them")
  end
  return r
end

--- The built-in recipe called `name`.
---@param name string
---@return table
function M.builtin(name)
  local path = "lua/recipes/" .. name .. ".lua"
  if not core.read_source(path) then
    errors.raise("not_found", ("no built-in recipe named '%s'"):format(name))
  end
  return (M.load_candidate({ name = name, origin = "builtin", path = path, embedded = true }))
end

--- Inside a recipe file: the recipe of the same name that this file shadows
--- (the next one in lookup order), to wrap or extend.
---@return table
function M.base()
  local cur = loading[#loading]
  if not cur then errors.raise("invalid_input", "recipe.base() works only while a recipe file loads") end
  local name = cur.name or fs.basename(cur.path):gsub("%.lua$", "")
  local found = false
  for _, c in ipairs(M.candidates(name)) do
    if found then return (M.load_candidate(c)) end
    if c.path == cur.path then found = true end
  end
  errors.raise("not_found", ("%s: no recipe '%s' below this one to extend"):format(cur.path, name))
end

return M
