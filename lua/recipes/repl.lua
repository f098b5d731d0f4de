-- banger repl: LuaJIT with the stdlib loaded. Reads a pipe too:
--   echo 'return 1+1' | banger repl     -> 2
return recipe.new {
  description = "Explore images, kernels and VMs in LuaJIT with the stdlib loaded",
  run = function(ctx)
    local repl = require("banger.repl")
    local env = repl.environment()
    if banger.process.isatty(0) then
      repl.interactive(env)
      return 0
    end
    local ok = repl.run_text(io.read("*a") or "", env, print)
    return ok and 0 or 1
  end,
}
