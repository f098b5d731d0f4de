-- banger help [COMMAND]: the commands (every recipe), or one command's usage;
-- --api: the Lua API reference.
local cli = require("banger.cli")

return recipe.new {
  description = "List the commands, or show one command's usage",
  params = {
    { "api", type = "bool", help = "print the Lua API reference (docs/api.md's reference part)" },
    { "command", rest = true, dashes = false, metavar = "COMMAND", help = "a command, e.g. 'image pull'" },
  },
  run = function(ctx, args)
    if args.api then
      io.write(banger.docs.reference())
      return
    end
    local words = args.command
    if #words > 0 then
      local r, command = cli.resolve(words)
      if not r then cli.unknown_command(words) end
      io.write(banger.args.help(r, command))
      return
    end
    local lines = {
      "banger: throwaway microVM sandboxes from OCI images",
      "",
      "Usage: banger [-v] [--json] COMMAND [args...]",
      "       banger run FILE.lua [args...]",
      "",
      "Commands (each is a recipe; a command 'a b-c' is the recipe 'a_b_c'):",
    }
    local rows, width = {}, 0
    for _, info in ipairs(banger.recipe.list()) do
      local ok, r = pcall(banger.recipe.load_candidate, info)
      local desc = ok and r and r.description or (ok and "" or "(fails to load: " .. tostring(banger.errors.normalize(r).message) .. ")")
      local cmd = cli.command_name(info.name)
      rows[#rows + 1] = { cmd, desc .. (info.origin ~= "builtin" and ("  [" .. info.origin .. "]") or "") }
      width = math.max(width, #cmd)
    end
    for _, r in ipairs(rows) do lines[#lines + 1] = ("  %-" .. width .. "s  %s"):format(r[1], r[2]) end
    lines[#lines + 1] = ""
    lines[#lines + 1] = "Global flags: -v/--verbose (logs, tracebacks), --json (machine-readable output)"
    lines[#lines + 1] = "'banger COMMAND --help' shows a command's options."
    print(table.concat(lines, "\n"))
  end,
}
