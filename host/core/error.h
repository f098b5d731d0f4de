// Errors are values with a kind, a message that names the thing, and a hint
// that says how to fix it. Host code throws banger::Error; the bindings
// trampoline turns it into a Lua error value; the CLI maps the kind to an exit
// code. See STYLE.md "Crossing the C++/Lua boundary".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace banger {

enum class ErrorKind {
  not_found,
  invalid_input,
  auth,
  network,
  io,
  conflict,
  unsupported,
  interrupted,
  internal,
  // A plain Lua error in a user's (project, user or file) recipe: a bug in
  // that recipe, not in banger.
  recipe,
};

std::string_view kind_name(ErrorKind kind);
// Parses a kind's name; unknown names give `internal`.
ErrorKind kind_from_name(std::string_view name);
// The process exit code for an error of this kind (one table, documented in
// README.md): 0 is success, 1 a failed command, 2+ the kinds.
int exit_code(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string hint = {});

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

  // Returns a copy whose message is "CONTEXT: MESSAGE", for adding what the
  // caller was doing ("pulling debian:bookworm: manifest: 404 not found").
  Error with_context(std::string_view context) const;

 private:
  ErrorKind kind_;
  std::string message_;
  std::string hint_;
};

[[noreturn]] void fail(ErrorKind kind, std::string message, std::string hint = {});

// Throws an io error naming `what` with strerror(errno) appended.
[[noreturn]] void fail_errno(std::string_view what, std::string hint = {});

}  // namespace banger
