// The CLI as a user sees it: the real build/banger, fresh BANGER_HOME.
#include <catch2/catch.hpp>

#include "host/core/fs.h"
#include "host/core/process.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

CliOptions in_home(const TempDir& t, const std::string& cwd = {}) { return home_in(t.path(), cwd); }

}  // namespace

TEST_CASE("cli: banger run hello.lua runs a plain script with the stdlib and its args", "[cli]") {
  TempDir t;
  fs::write_file(t / "hello.lua", "print('hello ' .. arg[1] .. ' from banger ' .. banger.version())\n");
  auto r = run_banger({"run", "hello.lua", "world"}, in_home(t));
  CHECK(r.code == 0);
  CHECK(r.out == "hello world from banger 0.1.0\n");
  CHECK(r.err == "");
}

TEST_CASE("cli: a recipe that raises prints message and hint, no traceback, and exits by kind", "[cli]") {
  TempDir t;
  fs::write_file(t / "fail.lua", R"(return recipe.new {
  run = function() banger.errors.raise("not_found", "widget 'w' not found", "add it with 'banger widget add w'") end,
})");
  auto r = run_banger({"run", "fail.lua"}, in_home(t));
  CHECK(r.code == 3);
  CHECK(r.out == "");
  CHECK(r.err == "error: widget 'w' not found\n  hint: add it with 'banger widget add w'\n");

  auto v = run_banger({"-v", "run", "fail.lua"}, in_home(t));
  CHECK(v.code == 3);
  CHECK(v.err.find("error: widget 'w' not found\n  hint: add it with 'banger widget add w'\n") == 0);
  CHECK(v.err.find("stack traceback:") != std::string::npos);
  CHECK(v.err.find("fail.lua:2") != std::string::npos);
}

TEST_CASE("cli: a project recipe shows in 'recipes', overrides the built-in, and 'recipes which' names it",
          "[cli]") {
  TempDir t;
  fs::make_dirs(t / "proj/.banger/recipes");
  fs::make_dirs(t / "proj/deep/er");
  fs::write_file(t / "proj/.banger/recipes/version.lua", R"(local base = recipe.base()
return recipe.new {
  description = "the project's version",
  run = function(ctx, args) print("project first"); return base:call(args, ctx) end,
})");
  auto cwd = t / "proj/deep/er";
  auto list = run_banger({"recipes"}, in_home(t, cwd));
  CHECK(list.code == 0);
  std::string line = list.out.substr(list.out.find("\nversion ") + 1);
  line = line.substr(0, line.find('\n'));
  CHECK(line.find(" project ") != std::string::npos);
  CHECK(line.find(t / "proj/.banger/recipes/version.lua" + "  (overrides builtin)") != std::string::npos);
  auto which = run_banger({"recipes", "which", "version"}, in_home(t, cwd));
  CHECK(which.out == t / "proj/.banger/recipes/version.lua\n");
  auto run = run_banger({"version"}, in_home(t, cwd));
  CHECK(run.out == "project first\nbanger 0.1.0\n");
  // Outside the project the built-in wins again.
  auto outside = run_banger({"recipes", "which", "version"}, in_home(t));
  CHECK(outside.out == "builtin:lua/recipes/version.lua\n");
}

TEST_CASE("cli: 'echo return 1+1 | banger repl' prints 2", "[cli]") {
  TempDir t;
  auto o = in_home(t);
  o.input = "return 1+1\n";
  auto r = run_banger({"repl"}, o);
  CHECK(r.code == 0);
  CHECK(r.out == "2\n");
}

TEST_CASE("cli: unknown commands and options are errors with a hint", "[cli]") {
  TempDir t;
  auto r = run_banger({"frobnicate"}, in_home(t));
  CHECK(r.code == 2);
  CHECK(r.err == "error: unknown command 'frobnicate'\n  hint: run 'banger help' to list commands\n");
  auto o = run_banger({"recipes", "which", "--nope"}, in_home(t));
  CHECK(o.code == 2);
  CHECK(o.err ==
        "error: unknown option '--nope' for 'banger recipes which'\n"
        "  hint: run 'banger recipes which --help' to see its usage\n");
}

TEST_CASE("cli: help lists the commands - --help shows a command's usage - --json is machine-readable",
          "[cli]") {
  TempDir t;
  auto h = run_banger({"help"}, in_home(t));
  CHECK(h.code == 0);
  std::string line = h.out.substr(h.out.find("\n  recipes which ") + 1);
  line = line.substr(0, line.find('\n'));
  CHECK(line.find("  Print the file that defines a recipe") != std::string::npos);
  auto u = run_banger({"recipes", "which", "--help"}, in_home(t));
  CHECK(u.out.find("Usage: banger recipes which NAME\n") == 0);
  auto j = run_banger({"version", "--json"}, in_home(t));
  CHECK(j.out == "{\n  \"version\": \"0.1.0\"\n}\n");
}

TEST_CASE("cli: assigning an undeclared global in a recipe is an error", "[cli]") {
  TempDir t;
  fs::write_file(t / "g.lua", "oops = 1\n");
  auto r = run_banger({"run", "g.lua"}, in_home(t));
  CHECK(r.code == 10);
  CHECK(r.err ==
        "error: g.lua:1: assignment to undeclared global 'oops' (declare it with local)\n"
        "  hint: this error comes from the recipe or script, not from banger (-v shows the traceback)\n");
}

TEST_CASE("cli: a recipe that reaches for _host gets a clear error pointing at banger.*", "[cli]") {
  TempDir t;
  fs::write_file(t / "native.lua", "print(_host.core.version())\n");
  auto r = run_banger({"run", "native.lua"}, in_home(t));
  CHECK(r.code == 2);
  CHECK(r.err ==
        "error: recipe native.lua uses _host, banger's internal native layer\n"
        "  hint: use the documented banger.* API instead (see docs/recipes.md)\n");
}

TEST_CASE(
    "cli: bash completion from the recipes - 'banger vm r<TAB>' offers resume, rm and run, a project's "
    "recipe completes",
    "[cli]") {
  TempDir t;
  fs::make_dirs(t / "proj/.banger/recipes");
  fs::write_file(t / "proj/.banger/recipes/deploy_site.lua", R"(return recipe.new {
  params = { { "dry_run", type = "bool" } },
  run = function() end,
})");
  // Real bash, the script sourced as a user would, banger found on PATH.
  auto complete = [&](const std::string& line_words, int cword) {
    std::string script = "PATH=" + std::string(BANGER_BINARY_DIR) +
                         ":$PATH; source <(banger completion bash); " + "COMP_WORDS=(" + line_words +
                         "); COMP_CWORD=" + std::to_string(cword) + "; _banger; echo \"${COMPREPLY[*]}\"";
    return run_capture({"env", "BANGER_HOME=" + (t / "home"), "XDG_CONFIG_HOME=" + (t / "config"), "bash",
                        "-c", "cd " + (t / "proj") + " && " + script})
        .out;
  };
  CHECK(complete("banger vm r", 2) == "resume rm run\n");
  CHECK(complete("banger ima", 1) == "image\n");
  CHECK(complete("banger image ls", 2) == "ls ls-files\n");
  CHECK(complete("banger vm run --ne", 3) == "--net\n");
  CHECK(complete("banger deploy s", 2) == "site\n");
  CHECK(complete("banger deploy site --d", 3) == "--dry-run\n");
  auto zsh = run_banger({"completion", "zsh"}, in_home(t));
  CHECK(zsh.code == 0);
  CHECK(zsh.out.rfind("#compdef banger\n", 0) == 0);
  auto bad = run_banger({"completion", "fish"}, in_home(t));
  CHECK(bad.code == 2);
  CHECK(bad.err ==
        "error: no completion for shell 'fish'\n  hint: use 'banger completion bash' or 'banger completion "
        "zsh'\n");
}
