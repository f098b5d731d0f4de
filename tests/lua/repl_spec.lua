local repl = require("banger.repl")

describe("banger.repl", function()
  it("evaluates expressions and statements and keeps top-level locals", function()
    local env, out = repl.environment(), {}
    local ok = repl.run_text("local x = 20\nreturn x + 1\nlocal t = {\n a = 1 }\nt", env, function(s) out[#out + 1] = s end)
    expect.eq(ok, true)
    expect.eq(out, { "21", "{ a = 1 }" })
  end)

  it("completes globals and fields", function()
    local env = repl.environment()
    local c = repl.complete(env, "banger.recip")
    expect.eq(c, { "banger.recipe" })
    local s = repl.complete(env, "string.up")
    expect.eq(s, { "string.upper" })
  end)

  it("reports errors and incomplete input", function()
    local out = {}
    local ok = repl.run_text("error('boom', 0)\nfor i=1,2 do", repl.environment(), function(s) out[#out + 1] = s end)
    expect.eq(ok, false)
    expect.eq(out, { "error: boom", "error: unexpected end of input" })
  end)
end)
