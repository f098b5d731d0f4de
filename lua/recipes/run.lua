-- banger run: without a file, runs the project's sandbox recipe. A project
-- defines it as .banger/recipes/run.lua (which shadows this one), so
-- `banger run` in that repository boots the sandbox the project needs.
-- `banger run FILE.lua [args]` runs a recipe file or script (handled by the CLI).
return recipe.new {
  description = "Run a recipe file (banger run FILE.lua), or this project's sandbox recipe",
  params = {
    { "file", positional = true, metavar = "FILE.lua", help = "a recipe or Lua script to run" },
  },
  run = function(ctx, args)
    banger.errors.raise("not_found", "this project has no sandbox recipe",
      "create .banger/recipes/run.lua (see docs/recipes.md), or run 'banger run FILE.lua'")
  end,
}
