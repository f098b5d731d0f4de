// Runs git on the host's repository for the workspace: always with -C REPO,
// never a prompt, and with banger's identity for the commits it writes (the
// user's repository config may have none, as on a CI machine).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace banger::workspace {

struct GitCall {
  std::string repo;
  std::vector<std::string> args;
  std::string input;             // fed on stdin
  std::vector<std::string> env;  // "NAME=VALUE" added (e.g. GIT_INDEX_FILE)
};

// stdout; an io error "git ARGS in REPO failed: STDERR" otherwise (a missing
// git is a not_found error saying to install it).
std::string git(const GitCall& call);
// The whole result, whatever the exit code.
struct GitResult {
  int exit_code = 0;
  std::string out, err;
};
GitResult git_run(const GitCall& call);
// stdout, or nullopt when git exits non-zero.
std::optional<std::string> git_try(const GitCall& call);
// stdout without its trailing newline.
std::string git_line(const GitCall& call);

// The identity banger's own commits carry.
inline constexpr const char* kCommitName = "banger";
inline constexpr const char* kCommitEmail = "banger@localhost";

}  // namespace banger::workspace
