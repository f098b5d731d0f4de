-- banger completion bash|zsh: a shell completion script to source. At each
-- TAB the script asks `banger completion --cword N -- WORDS...`, so what
-- completes is every recipe found from the current directory: a project's
-- own recipes and their options complete too.
local cli = require("banger.cli")

local BASH = [[
# banger completion for bash: source <(banger completion bash)
_banger() {
  local IFS=$'\n'
  COMPREPLY=($(banger completion --cword "$COMP_CWORD" -- "${COMP_WORDS[@]}" 2>/dev/null))
}
complete -o default -F _banger banger
]]

local ZSH = "#compdef banger\n# banger completion for zsh: source <(banger completion zsh)\n" ..
  "autoload -U +X bashcompinit && bashcompinit\n" .. BASH

-- The words that may stand at position `cword` (0 is "banger") of `words`.
local function candidates(words, cword)
  local out, seen = {}, {}
  local function add(w)
    if not seen[w] then seen[w] = true; out[#out + 1] = w end
  end
  local names = {}
  for _, info in ipairs(banger.recipe.list()) do names[#names + 1] = info.name end
  if cword == 1 then
    for _, n in ipairs(names) do add((cli.command_words(n))) end
    return out
  end
  local w1 = words[2]
  if cword == 2 then
    for _, n in ipairs(names) do
      local a, b = cli.command_words(n)
      if a == w1 and b then add(b) end
    end
  end
  local command = {}
  for i = 2, math.min(#words, 3) do command[#command + 1] = words[i] end
  local r = cli.resolve(command)
  if r then
    for _, p in ipairs(r.params) do
      if not p.positional and not p.rest and p.cli ~= false then add("--" .. p[1]:gsub("_", "-")) end
    end
    add("--help")
  end
  return out
end

return recipe.new {
  description = "Print a shell completion script (bash or zsh) to source",
  params = {
    { "shell", positional = true, metavar = "SHELL", help = "bash or zsh" },
    { "cword", type = "int", help = "(used by the script) the index of the word being completed" },
    { "words", rest = true, metavar = "WORDS", help = "(used by the script) the command line so far" },
  },
  run = function(_, args)
    if args.cword then
      local cur = args.words[args.cword + 1] or ""
      for _, w in ipairs(candidates(args.words, args.cword)) do
        if w:sub(1, #cur) == cur then print(w) end
      end
      return
    end
    if args.shell == "bash" then io.write(BASH)
    elseif args.shell == "zsh" then io.write(ZSH)
    else
      banger.errors.raise("invalid_input", ("no completion for shell '%s'"):format(tostring(args.shell)),
        "use 'banger completion bash' or 'banger completion zsh'")
    end
  end,
}
