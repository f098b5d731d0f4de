// Hardening (issue 9, "Bad input"): what a user mistypes is refused at once,
// naming what was typed and how to fix it; nothing wraps or reaches a VM.
#include <catch2/catch.hpp>

#include <filesystem>

#include "host/core/fs.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::test;

namespace {

CliOptions in_home(const TempDir& t) { return home_in(t.path()); }

// The last lines of stderr (stage lines such as "==> create" come first).
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

TEST_CASE("cli: a mistyped command names what was typed and the command it resembles", "[cli]") {
  TempDir t;
  auto lss = run_banger({"vm", "lss"}, in_home(t));
  CHECK(lss.code == 2);
  CHECK(lss.err ==
        "error: unknown command 'vm lss'\n"
        "  hint: did you mean 'banger vm ls'? (run 'banger help' to list commands)\n");
  auto imag = run_banger({"imag", "ls"}, in_home(t));
  CHECK(imag.code == 2);
  CHECK(imag.err ==
        "error: unknown command 'imag'\n"
        "  hint: did you mean 'banger image ls'? (run 'banger help' to list commands)\n");
  auto group = run_banger({"kernel"}, in_home(t));
  CHECK(group.code == 2);
  CHECK(group.err ==
        "error: 'kernel' needs a command: kernel import, kernel ls, kernel pull, kernel rm\n"
        "  hint: run 'banger help' to list commands\n");
  // `help` says the same for the same words.
  CHECK(run_banger({"help", "vm", "lss"}, in_home(t)).err == lss.err);
}

TEST_CASE("cli: help lists image ls-files as it parses", "[cli]") {
  TempDir t;
  auto h = run_banger({"help"}, in_home(t));
  CHECK(h.out.find("\n  image ls-files ") != std::string::npos);
  CHECK(h.out.find("image ls files") == std::string::npos);
  auto u = run_banger({"image", "ls-files", "--help"}, in_home(t));
  CHECK(u.code == 0);
  CHECK(u.out.find("Usage: banger image ls-files NAME [PATH]\n") == 0);
}

TEST_CASE("cli: vm run with a mistyped image says there is no such image, not that a VM name is invalid",
          "[cli]") {
  TempDir t;
  auto r = run_banger({"vm", "run", "Debian-Bookworm"}, in_home(t));
  CHECK(r.code == 3);
  CHECK(ends_with(r.err,
                  "error: no image named 'Debian-Bookworm'\n"
                  "  hint: did you mean 'debian-bookworm'? list images with 'banger image ls', "
                  "or pull one with 'banger image pull REF'\n"));
  CHECK(run_banger({"vm", "ls", "--json"}, in_home(t)).out == "[]\n");
}

TEST_CASE("cli: sizes and counts that overflow or are out of range are refused when given", "[cli]") {
  TempDir t;
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const Case cases[] = {
      // 2^64 + 2^30: used to wrap to 1G (memory) or 0 (size).
      {{"vm", "create", "--memory", "18446744074783293440"},
       "error: --memory for 'banger vm create' must be between 128M and 1T, got '18446744074783293440'\n"},
      {{"vm", "run", "--memory", "999999999999T", "--", "true"},
       "error: --memory for 'banger vm run' must be between 128M and 1T, got '999999999999T'\n"},
      {{"vm", "create", "--memory", "64M"},
       "error: --memory for 'banger vm create' must be between 128M and 1T, got '64M'\n"},
      {{"vm", "set", "nosuchvm", "--memory", "2T"},
       "error: --memory for 'banger vm set' must be between 128M and 1T, got '2T'\n"},
      {{"vm", "create", "--cpus", "18446744073709551617"},
       "error: --cpus for 'banger vm create' must be between 1 and 64, got '18446744073709551617'\n"},
      {{"vm", "set", "nosuchvm", "--cpus", "0"},
       "error: --cpus for 'banger vm set' must be between 1 and 64, got '0'\n"},
      // Refused before anything is fetched (this ref would need a network).
      {{"image", "pull", "--size", "18446744074783293440", "registry.invalid/x:y"},
       "error: --size for 'banger image pull' must be at most 16T, got '18446744074783293440'\n"},
      {{"vm", "create", "--memory", "1.5X"},
       "error: --memory for 'banger vm create' must be a size like 512M or 10G, got '1.5X'\n"},
  };
  for (const auto& c : cases) {
    INFO(c.args[0] + " " + c.args[1] + " " + c.args[2] + " " + c.args[3]);
    auto r = run_banger(c.args, in_home(t));
    CHECK(r.code == 2);
    CHECK(r.err == c.err);
  }
  CHECK(run_banger({"vm", "ls", "--json"}, in_home(t)).out == "[]\n");
}

TEST_CASE("cli: -p takes HOST:GUEST or an IPv4 ADDR:HOST:GUEST, checked at create", "[cli]") {
  TempDir t;
  const std::string hint =
      "  hint: use -p HOST_PORT:GUEST_PORT (bound to 127.0.0.1), or -p ADDR:HOST_PORT:GUEST_PORT to bind "
      "another "
      "host address (0.0.0.0: every interface), e.g. -p 8080:80\n";
  auto r = run_banger({"vm", "create", "-p", "1:2:3"}, in_home(t));
  CHECK(r.code == 2);
  CHECK(r.err == "error: invalid port forward '1:2:3': '1' is not an IPv4 address\n" + hint);
  auto big = run_banger({"vm", "create", "-p", "300.0.0.1:80:80"}, in_home(t));
  CHECK(big.err ==
        "error: invalid port forward '300.0.0.1:80:80': '300.0.0.1' is not an IPv4 address\n" + hint);
  auto port = run_banger({"vm", "create", "-p", "127.0.0.1:0:80"}, in_home(t));
  CHECK(port.err == "error: invalid port forward '127.0.0.1:0:80': ports are 1-65535\n" + hint);
  CHECK(run_banger({"vm", "ls", "--json"}, in_home(t)).out == "[]\n");
}

TEST_CASE("cli: -v after a command's own arguments belongs to that command, before them it is --verbose",
          "[cli]") {
  TempDir t;
  fs::write_file(t / "echo.lua", R"(return recipe.new {
  params = { { "word", positional = true }, { "command", rest = true } },
  run = function(ctx, args) print(tostring(ctx.verbose) .. ": " .. args.word .. " " .. table.concat(args.command, " ")) end,
})");
  CHECK(run_banger({"run", "echo.lua", "img", "-v", "uname"}, in_home(t)).out == "true: img uname\n");
  CHECK(run_banger({"run", "echo.lua", "img", "uname", "-v"}, in_home(t)).out == "false: img uname -v\n");
  CHECK(run_banger({"run", "echo.lua", "-v", "img", "uname"}, in_home(t)).out == "true: img uname\n");
  CHECK(run_banger({"-v", "run", "echo.lua", "img", "uname"}, in_home(t)).out == "true: img uname\n");
  CHECK(run_banger({"vm", "--json", "ls"}, in_home(t)).out == "[]\n");
  CHECK(run_banger({"vm", "ls", "--json"}, in_home(t)).out == "[]\n");
}

TEST_CASE("cli: an error in a user's recipe has its own kind and exit code, and prints what was raised",
          "[cli]") {
  TempDir t;
  const std::string hint =
      "  hint: this error comes from the recipe or script, not from banger (-v shows the traceback)\n";
  fs::write_file(t / "table.lua",
                 "return recipe.new { run = function() error({ code = 7, why = 'disk' }) end }\n");
  auto table = run_banger({"run", "table.lua"}, in_home(t));
  CHECK(table.code == 10);
  CHECK(table.err == "error: a recipe raised { code = 7, why = \"disk\" }\n" + hint);
  fs::write_file(t / "nil.lua", "return recipe.new { run = function() local t; return t.x end }\n");
  auto bug = run_banger({"run", "nil.lua"}, in_home(t));
  CHECK(bug.code == 10);
  CHECK(bug.err == "error: nil.lua:1: attempt to index local 't' (a nil value)\n" + hint);
  fs::write_file(t / "kindless.lua",
                 "return recipe.new { run = function() error({ message = 'no kind' }) end }\n");
  auto kindless = run_banger({"run", "kindless.lua"}, in_home(t));
  CHECK(kindless.code == 10);
  CHECK(kindless.err == "error: no kind\n");
}

TEST_CASE("cli: BANGER_HOME without HOME works (the home directory comes from the password database)",
          "[cli]") {
  TempDir t;
  auto o = in_home(t);
  o.env["HOME"] = "";
  o.env["XDG_CONFIG_HOME"] = "";
  auto r = run_banger({"image", "ls", "--json"}, o);
  CHECK(r.err == "");
  CHECK(r.code == 0);
  CHECK(r.out == "[]\n");
}

TEST_CASE("cli: vm rm --force of a missing VM exits 0, so a teardown step can run twice", "[cli]") {
  TempDir t;
  auto forced = run_banger({"vm", "rm", "--force", "gone"}, in_home(t));
  CHECK(forced.code == 0);
  CHECK(forced.out.empty());
  auto plain = run_banger({"vm", "rm", "gone"}, in_home(t));
  CHECK(plain.code == 3);
  CHECK(plain.err == "error: no VM named 'gone'\n  hint: list VMs with 'banger vm ls'\n");
  // --force forgives a missing VM, not a name that cannot be one.
  auto bad = run_banger({"vm", "rm", "--force", "Bad/Name"}, in_home(t));
  CHECK(bad.code == 2);
  CHECK(bad.err.find("error: invalid VM name 'Bad/Name'") == 0);
}

TEST_CASE("cli: --mount takes HOST:GUEST[:ro] with an existing host directory and an absolute guest path",
          "[cli]") {
  TempDir t;
  const std::string dir = std::filesystem::canonical(t.path()).string();
  const std::string hint =
      "  hint: use --mount HOST:GUEST, or HOST:GUEST:ro for read-only, e.g. --mount ./src:/mnt/src\n";
  auto colon = run_banger({"vm", "create", "--mount", "src"}, in_home(t));
  CHECK(colon.code == 2);
  CHECK(colon.err == "error: invalid mount 'src': expected HOST:GUEST or HOST:GUEST:ro\n" + hint);
  auto missing = run_banger({"vm", "run", "--mount", dir + "/gone:/mnt/src", "--", "true"}, in_home(t));
  CHECK(missing.code == 3);
  CHECK(ends_with(missing.err, "error: mount host directory " + dir +
                                   "/gone does not exist\n  hint: create it (mkdir -p " + dir +
                                   "/gone) or give an existing directory\n"));
  auto relative = run_banger({"vm", "create", "--mount", dir + ":mnt/src"}, in_home(t));
  CHECK(relative.code == 2);
  CHECK(relative.err ==
        "error: mount guest path 'mnt/src' is not absolute\n"
        "  hint: give an absolute directory in the guest that the system does not use, e.g. /mnt/src\n");
  CHECK(run_banger({"vm", "ls", "--json"}, in_home(t)).out == "[]\n");
}

TEST_CASE("cli: image build names a missing build file, a mistyped key and a from that loops, before any VM",
          "[cli][build]") {
  TempDir t;
  CliOptions o = in_home(t);
  fs::make_dirs(t / "proj/.banger");
  o.cwd = t / "proj";
  auto none = run_banger({"image", "build"}, o);
  CHECK(none.code == 3);
  CHECK(
      ends_with(none.err,
                "error: no build file: .banger/image.lua is not in this directory or one above it\n"
                "  hint: write one (see 'banger image build --help'), or give its path: 'banger image build "
                "FILE'\n"));

  const std::string file = std::filesystem::canonical(t.path()).string() + "/proj/.banger/image.lua";
  fs::write_file(file, "return { name = \"x\", from = \"debian-bookworm\", pakages = { \"git\" } }\n");
  auto typo = run_banger({"image", "build"}, o);
  CHECK(typo.code == 2);
  CHECK(
      ends_with(typo.err, "error: " + file + ": unknown key 'pakages'\n  hint: did you mean 'packages'?\n"));

  // a.lua builds from b.lua, which builds from a.lua.
  fs::write_file(t / "proj/.banger/a.lua", "return { name = \"a\", from = \"b.lua\" }\n");
  fs::write_file(t / "proj/.banger/b.lua", "return { name = \"b\", from = \"a.lua\" }\n");
  auto loop = run_banger({"image", "build", ".banger/a.lua"}, o);
  CHECK(loop.code == 2);
  CHECK(
      ends_with(loop.err, "error: " + std::filesystem::canonical(t / "proj/.banger/a.lua").string() +
                              ": its from leads back to itself\n"
                              "  hint: a build file's from must end at an image, not at a build file of the "
                              "chain\n"));
  CHECK(run_banger({"vm", "ls", "--json"}, o).out == "[]\n");
}
