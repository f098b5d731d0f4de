#include "host/workspace/git.h"

#include "host/core/error.h"
#include "host/core/process.h"

namespace banger::workspace {

namespace {

RunResult run(const GitCall& call) {
  if (!find_executable("git"))
    fail(ErrorKind::not_found,
         "git is not installed on this host (the workspace " + call.repo + " is a git repository)",
         "install git (apt-get install git)");
  // env(1) sets the variables for git alone, not for banger.
  std::vector<std::string> argv = {"env",
                                   "GIT_TERMINAL_PROMPT=0",
                                   "LC_ALL=C",
                                   std::string("GIT_AUTHOR_NAME=") + kCommitName,
                                   std::string("GIT_AUTHOR_EMAIL=") + kCommitEmail,
                                   std::string("GIT_COMMITTER_NAME=") + kCommitName,
                                   std::string("GIT_COMMITTER_EMAIL=") + kCommitEmail};
  argv.insert(argv.end(), call.env.begin(), call.env.end());
  argv.insert(argv.end(), {"git", "-C", call.repo});
  argv.insert(argv.end(), call.args.begin(), call.args.end());
  return run_capture(argv, call.input);
}

}  // namespace

GitResult git_run(const GitCall& call) {
  RunResult r = run(call);
  return {r.exit_code, std::move(r.out), std::move(r.err)};
}

std::string git(const GitCall& call) {
  RunResult r = run(call);
  if (r.exit_code != 0) {
    std::string what = "git";
    for (const auto& a : call.args) {
      if (what.size() > 80) break;
      what += " " + a;
    }
    std::string tail = r.err.size() > 2000 ? r.err.substr(r.err.size() - 2000) : r.err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    fail(ErrorKind::io, what + " in " + call.repo + " failed (exit " + std::to_string(r.exit_code) + ")" +
                            (tail.empty() ? "" : ": " + tail));
  }
  return r.out;
}

std::optional<std::string> git_try(const GitCall& call) {
  RunResult r = run(call);
  if (r.exit_code != 0) return std::nullopt;
  return r.out;
}

std::string git_line(const GitCall& call) {
  std::string out = git(call);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace banger::workspace
