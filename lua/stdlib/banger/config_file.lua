--- Project files that return a table of settings (the sandbox file
--- `.banger/sandbox.lua`, the image build file `.banger/image.lua`): how
--- one is run and how its keys are checked, written once. Each key has a
--- kind, a name below or a function(v, fail) that checks and converts it;
--- an unknown key is an error naming the file and the nearest known key
--- (a typo never passes silently).
local errors = require("banger.errors")
local args_lib = require("banger.args")

local M = {}

-- Each kind's check: returns the converted value, or calls
-- fail(want, got) (got: what was found, for the message).
local KINDS = {}

function KINDS.string(v, fail)
  if type(v) ~= "string" or v == "" then fail("a non-empty string", type(v)) end
  return v
end

function KINDS.integer(v, fail)
  if type(v) ~= "number" or v ~= math.floor(v) then fail("a whole number", tostring(v)) end
  return v
end

function KINDS.boolean(v, fail)
  if type(v) ~= "boolean" then fail("true or false", type(v)) end
  return v
end

function KINDS.size(v, fail)
  local n = type(v) == "number" and v or (type(v) == "string" and args_lib.parse_size(v))
  if not n then fail("a size like 512M or 10G", ("'%s'"):format(tostring(v))) end
  return n
end

function KINDS.strings(v, fail)
  if type(v) ~= "table" then fail("a list of strings", type(v)) end
  for i, s in ipairs(v) do
    if type(s) ~= "string" then fail("a string", type(s), ("[%d]"):format(i)) end
  end
  return v
end

-- A command: a list of strings, or one string for `sh -c`.
function KINDS.command(v, fail)
  if type(v) == "string" then return { "sh", "-c", v } end
  return KINDS.strings(v, fail)
end

-- NAME = VALUE pairs: a sorted list of "NAME=VALUE" (the same order every run).
function KINDS.env(v, fail)
  if type(v) ~= "table" then fail("a table of NAME = VALUE", type(v)) end
  local list = {}
  for name, value in pairs(v) do
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
      fail("a table of NAME = VALUE", ("the name %s"):format(tostring(name)))
    end
    if type(value) ~= "string" and type(value) ~= "number" then fail("a string", type(value), "." .. name) end
    list[#list + 1] = name .. "=" .. tostring(value)
  end
  table.sort(list)
  return list
end

-- Where the project's files are in the guest: an absolute path, or false.
function KINDS.workspace(v, fail)
  if v ~= false and (type(v) ~= "string" or v:sub(1, 1) ~= "/") then
    fail("a guest path such as /work, or false", ("'%s'"):format(tostring(v)))
  end
  return v
end

--- Checks one value `v` of key `key` in file `path` against `kind` (a kind
--- name or a function(v, fail)). `help` is the hint of a wrong one.
---@param path string
---@param key string
---@param kind string|function
---@param v any
---@param help string
---@return any
function M.check(path, key, kind, v, help)
  -- `sub`: the part of the value that is wrong (`[2]`, `.NAME`), if not all of it.
  local function fail(want, got, sub)
    errors.raise("invalid_input", ("%s: %s%s must be %s, got %s"):format(path, key, sub or "", want, got), help)
  end
  local check = type(kind) == "function" and kind or KINDS[kind]
  return check(v, fail)
end

--- Runs the file at `path` (as a recipe file runs: `banger.*` in scope) and
--- checks the table it returns against `keys` (key -> kind). Returns the
--- checked, converted table. `what.example` ends the "must return a table"
--- hint; `what.help` is the hint of a wrong value.
---@param path string
---@param keys table<string, string|function>
---@param what {example:string, help:string}
---@return table
function M.load(path, keys, what)
  local _, result = require("banger.recipe").load_candidate({ path = path, origin = "project" })
  if type(result) ~= "table" then
    errors.raise("invalid_input", ("%s must return a table, got %s"):format(path, type(result)),
      "end the file with '" .. what.example .. "'")
  end
  local known = {}
  for k in pairs(keys) do known[#known + 1] = k end
  table.sort(known)
  local out = {}
  for key, v in pairs(result) do
    local kind = type(key) == "string" and keys[key]
    if not kind then
      local near = type(key) == "string" and require("banger.suggest").closest(key, known)
      errors.raise("invalid_input", ("%s: unknown key '%s'"):format(path, tostring(key)),
        near and ("did you mean '%s'?"):format(near) or ("the keys are " .. table.concat(known, ", ")))
    end
    out[key] = M.check(path, key, kind, v, what.help)
  end
  return out
end

return M
