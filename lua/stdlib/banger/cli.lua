--- The command line. Every command is a recipe: `banger WORD1 WORD2 ...`
--- runs the recipe `WORD1_WORD2` when it exists, else the recipe `WORD1`
--- (so `banger image pull` is the recipe `image_pull`, `banger recipes` is
--- `recipes`). `banger run FILE.lua` runs a file. Global flags: -v/--verbose,
--- --json, before `--` and before the command's own arguments.
local errors = require("banger.errors")
local recipe = require("banger.recipe")
local progress = require("banger.progress")
local core = _host.core

local M = {}

local GLOBAL_FLAGS = require("banger.args").GLOBAL_FLAGS

--- Splits the global flags given before or between the command's words
--- (`banger -v vm ls`, `banger vm --json ls`) out of argv. Those given later
--- are options of the command (args.parse takes them), so that once a
--- command's own command line has begun (`vm run IMAGE uname -v`) a `-v`
--- is the guest command's.
---@param argv string[]
---@return {verbose:boolean, json:boolean} globals
---@return string[] argv without them
function M.split_globals(argv)
  local g, rest, words = { verbose = false, json = false }, {}, 0
  for i, a in ipairs(argv) do
    if words >= 2 or a == "--" then
      for j = i, #argv do rest[#rest + 1] = argv[j] end
      break
    elseif GLOBAL_FLAGS[a] then g[GLOBAL_FLAGS[a]] = true
    else
      if a:sub(1, 1) ~= "-" then words = words + 1 end
      rest[#rest + 1] = a
    end
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

--- How a recipe's name is typed as a command: the first '_' is the space
--- between the two words, the others are '-' (`image_ls_files` is
--- `image ls-files`, which resolve() maps back).
---@param name string
---@return string
function M.command_name(name)
  local w1, w2 = M.command_words(name)
  return w2 and (w1 .. " " .. w2) or w1
end

--- Raises the error for a command line that names no recipe: the words the
--- user typed (`vm lss` when `vm` is a group of commands such as `vm ls`),
--- and the nearest command when it looks like a typo.
---@param words string[]
function M.unknown_command(words)
  local commands, group = {}, {}
  for _, info in ipairs(recipe.list()) do
    local cmd = M.command_name(info.name)
    commands[#commands + 1] = cmd
    if cmd:sub(1, #words[1] + 1) == words[1] .. " " then group[#group + 1] = cmd end
  end
  local hint = "run 'banger help' to list commands"
  local second = words[2] and words[2]:sub(1, 1) ~= "-" and words[2] or nil
  if #group > 0 and not second then
    errors.raise("invalid_input", ("'%s' needs a command: %s"):format(words[1], table.concat(group, ", ")), hint)
  end
  -- In a group (`vm lss`) the second word is the mistyped one.
  local typed = #group > 0 and (words[1] .. " " .. second) or words[1]
  local suggest = require("banger.suggest")
  -- `imag ls` is a typo of `image ls`; `versio` of `version`.
  local near = second and suggest.closest(words[1] .. " " .. second, commands) or suggest.closest(words[1], commands)
  if near then hint = ("did you mean 'banger %s'? (%s)"):format(near, hint) end
  errors.raise("invalid_input", ("unknown command '%s'"):format(typed), hint)
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
    return r:main(argv, { command = "banger run " .. path, globals = globals, on_globals = M.apply_globals })
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

--- Makes the global flags take effect (logs, output mode).
---@param globals {verbose:boolean, json:boolean}
function M.apply_globals(globals)
  if globals.verbose then core.set_verbose(true) end
  if globals.json then progress.set_mode("quiet") end
  M.globals = globals
end

--- Entry point: returns the process exit code.
---@param argv string[]
---@return integer
function M.main(argv)
  local globals, words = M.split_globals(argv)
  M.apply_globals(globals)

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
    if not r then M.unknown_command(words) end
    return r:main(rest, { command = command, globals = globals, on_globals = M.apply_globals })
  end, function(e)
    _G._BANGER_TRACEBACK = _G._BANGER_TRACEBACK or debug.traceback("", 2)
    return e
  end)
  if not ok then return report(result, globals) end
  -- A Ctrl-C the guest command took (forwarded to it) still cancels the
  -- recipe: whatever it went on to do, the exit status says interrupted.
  if core.interrupted() then return 130 end
  if type(result) == "number" then return result end
  -- A run's result (vm run, banger run) carries the command's exit code.
  if type(result) == "table" and type(result.exit_code) == "number" then return result.exit_code end
  return 0
end

return M
