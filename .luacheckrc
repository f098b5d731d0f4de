-- luacheck for lua/ and the Lua specs. Recipes see `banger` and `recipe`;
-- only the stdlib (which holds the documented wrappers) touches `_host`, the
-- native modules. Line length is clang-format's business in C++ and left to
-- the reader here; unused arguments are the recipe signature (ctx, args).
std = "luajit"
read_globals = { "banger", "recipe" }
max_line_length = false
unused_args = false
files["lua/stdlib"] = { read_globals = { "_host" } }
files["tests/lua"] = { read_globals = { "_host", "expect" } }
