--- The command line. Every command is a recipe: `banger WORD1 WORD2 ...`
--- runs the recipe `WORD1_WORD2` when it exists, else the recipe `WORD1`
--- (so `banger image pull` is the recipe `image_pull`, `banger recipes` is
--- `recipes`). `banger run FILE.lua` runs a file. Global flags anywhere
--- before `--`: -v/--verbose, --json.
local errors = require("banger.errors")
local recipe = require("banger.recipe")
local progress = require("banger.progress")
local core = _host.core

local M = {}

--- Splits global flags out of argv.
---@param argv string[]
---@return {verbose:boolean, json:boolean}, string[]
function M.split_globals(argv)
  local g, rest, after_dashes = { verbose = false, json = false }, {}, false
  for _, a in ipairs(argv) do
    if after_dashes then rest[#rest + 1] = a
    elseif a == "--" then after_dashes = true; rest[#rest + 1] = a
    elseif a == "-v" or a == "--verbose" then g.verbose = true
    elseif a == "--json" then g.json = true
    else rest[#rest + 1] = a end
  end
  return g, rest
end

--- Which recipe a command line names: the recipe, the words used, the rest.
---@param words string[]
---@return table|nil recipe, string command, string[] rest
function M.resolve(words)
  local w1, w2 = words[1], words[2]
  if w2 and w2:match("^[%w][%w%-]*$") then
    local r = recipe.find(w1 .. "_" .. w2:gsub("%-", "_"))
    if r then return r, "banger " .. w1 .. " " .. w2, { select(3, unpack(words)) } end
  end
  local r = recipe.find((w1:gsub("%-", "_")))
  if r then return r, "banger " .. w1, { select(2, unpack(words)) } end
  return nil, "banger " .. w1, {}
end

--- The words a user types for a recipe: "image_ls_files" -> "image", "ls-files"
--- (the second is nil for a one-word recipe). M.resolve maps them back.
---@param name string
---@return string, string|nil
function M.command_words(name)
  local w1, rest = name:match("^([^_]+)_(.+)$")
  if not w1 then return name, nil end
  return w1, (rest:gsub("_", "-"))
end

local function looks_like_file(arg)
  return arg and (arg:match("%.lua$") or arg:find("/", 1, true)) ~= nil
end

--- `banger run FILE.lua [args]`: a recipe file (its params parse args) or a
--- plain script run with the stdlib loaded, `arg` holding its arguments.
local function run_file(path, argv, globals)
  if not require("banger.fs").exists(path) then
    errors.raise("not_found", ("no such file: %s"):format(path), "give the path of a .lua recipe or script")
  end
  _G.arg = argv
  local r, result = recipe.load_candidate({ path = path, origin = "file" })
  if r then
    return r:main(argv, { command = "banger run " .. path, json = globals.json, verbose = globals.verbose })
  end
  return result
end

local function report(err, globals)
  local e = errors.normalize(err)
  io.stdout:flush()
  io.stderr:write("error: ", e.message, "\n")
  if e.hint then io.stderr:write("  hint: ", e.hint, "\n") end
  if globals.verbose then
    io.stderr:write("  kind: ", tostring(e.kind), "\n")
    local tb = _G._BANGER_TRACEBACK or debug.traceback()
    io.stderr:write(tb, "\n")
  end
  return errors.exit_code(e)
end

--- Entry point: returns the process exit code.
---@param argv string[]
---@return integer
function M.main(argv)
  local globals, words = M.split_globals(argv)
  if globals.verbose then core.set_verbose(true) end
  if globals.json then progress.set_mode("quiet") end
  M.globals = globals

  local ok, result = xpcall(function()
    if #words == 0 or words[1] == "-h" or words[1] == "--help" then
      words = { "help" }
    elseif words[1] == "--version" then
      words = { "version" }
    end
    if words[1] == "run" and looks_like_file(words[2]) then
      return run_file(words[2], { select(3, unpack(words)) }, globals)
    end
    local r, command, rest = M.resolve(words)
    if not r then
      errors.raise("invalid_input", ("unknown command '%s'"):format(words[1]),
        "run 'banger help' to list commands")
    end
    return r:main(rest, { command = command, json = globals.json, verbose = globals.verbose })
  end, function(e)
    _G._BANGER_TRACEBACK = _G._BANGER_TRACEBACK or debug.traceback("", 2)
    return e
  end)
  if not ok then return report(result, globals) end
  if type(result) == "number" then return result end
  return 0
end

return M
