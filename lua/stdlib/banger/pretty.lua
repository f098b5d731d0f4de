--- Pretty-printing of Lua values for the REPL: tables nested and sorted,
--- strings quoted, handles by their type name.
local M = {}

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function render(v, indent, seen, depth)
  local t = type(v)
  if t == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if t == "table" then
    local mt = getmetatable(v)
    if mt and mt.__tostring then return tostring(v) end
    if seen[v] then return "<cycle>" end
    if depth > 6 then return "{...}" end
    seen[v] = true
    local n = #v
    local parts, inline_ok, total = {}, true, 0
    for i = 1, n do
      parts[#parts + 1] = render(v[i], indent .. "  ", seen, depth + 1)
    end
    for _, k in ipairs(sorted_keys(v)) do
      if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then
        local key = is_identifier(k) and k or ("[" .. render(k, indent, seen, depth + 1) .. "]")
        parts[#parts + 1] = key .. " = " .. render(v[k], indent .. "  ", seen, depth + 1)
      end
    end
    seen[v] = nil
    if #parts == 0 then return "{}" end
    for _, p in ipairs(parts) do
      total = total + #p
      if p:find("\n", 1, true) then inline_ok = false end
    end
    if inline_ok and total + #indent < 72 then return "{ " .. table.concat(parts, ", ") .. " }" end
    return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
  end
  if t == "userdata" then
    local mt = getmetatable(v)
    if mt and mt.__tostring then return tostring(v) end
    if mt and mt.__name then return "<" .. mt.__name .. ">" end
  end
  return tostring(v)
end

--- Renders a value for humans.
---@param v any
---@return string
function M.format(v) return render(v, "", {}, 0) end

--- A byte count for humans: "512 B", "1.5 MiB"; "-" for nil.
---@param n integer|nil
---@return string
function M.bytes(n)
  if not n then return "-" end
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[i])
end

return M
