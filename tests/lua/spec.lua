-- A small spec runner: describe/it blocks and expectations. A spec file runs
-- in an environment with these as globals; run_file raises with every
-- failure listed when any `it` fails, and returns a summary otherwise.
local M = {}

local function fmt(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "table" then return require("banger.pretty").format(v) end
  return tostring(v)
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local expect = {}

function expect.eq(actual, expected, what)
  if not deep_equal(actual, expected) then
    error(("%sexpected %s, got %s"):format(what and (what .. ": ") or "", fmt(expected), fmt(actual)), 2)
  end
end

function expect.truthy(v, what)
  if not v then error((what or "value") .. " is not truthy", 2) end
end

function expect.match(s, pattern)
  if type(s) ~= "string" or not s:find(pattern) then
    error(("expected %s to match %q"):format(fmt(s), pattern), 2)
  end
end

--- fn must raise an error value of `kind` whose message equals `message`
--- (or matches it when `message` starts with "~").
function expect.error(fn, kind, message)
  local ok, err = pcall(fn)
  if ok then error("expected an error, got none", 2) end
  local e = require("banger.errors").normalize(err)
  if kind and e.kind ~= kind then
    error(("expected a %s error, got %s: %s"):format(kind, tostring(e.kind), e.message), 2)
  end
  if message then
    if message:sub(1, 1) == "~" then
      if not e.message:find(message:sub(2)) then error(("error %q does not match %q"):format(e.message, message:sub(2)), 2) end
    elseif e.message ~= message then
      error(("expected error %q, got %q"):format(message, e.message), 2)
    end
  end
  return e
end

function M.run_file(path)
  local results = { passed = 0, failed = {} }
  local prefix = {}
  local env = setmetatable({
    expect = expect,
    banger = require("banger"),
    recipe = require("banger.recipe"),
    describe = function(name, fn)
      table.insert(prefix, name)
      fn()
      table.remove(prefix)
    end,
  }, { __index = _G })
  env.it = function(name, fn)
    local full = table.concat(prefix, " ") .. " " .. name
    local ok, err = xpcall(fn, function(e)
      if type(e) == "table" and e.message then e = e.message end
      return debug.traceback(tostring(e), 2)
    end)
    if ok then results.passed = results.passed + 1
    else table.insert(results.failed, full .. ":\n  " .. tostring(err)) end
  end
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  setfenv(chunk, env)
  chunk()
  if #results.failed > 0 then
    error(("%d failed, %d passed:\n%s"):format(#results.failed, results.passed,
      table.concat(results.failed, "\n")), 0)
  end
  return ("%d passed"):format(results.passed)
end

return M
