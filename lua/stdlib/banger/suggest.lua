--- "Did you mean ...?": the candidate closest to a mistyped word.
local M = {}

-- Levenshtein distance (insertions, deletions, substitutions), case-blind.
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The candidate nearest to `word`, when it is near enough to be a typo
--- (at most 2 edits, and fewer than half of the word).
---@param word string
---@param candidates string[]
---@return string|nil
function M.closest(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = distance(word, c)
    if d <= 2 and d * 2 < math.max(#word, 2) and (not best_d or d < best_d) then best, best_d = c, d end
  end
  return best
end

return M
