#include "host/core/error.h"

#include <cerrno>
#include <cstring>

namespace banger {

namespace {

struct KindInfo {
  ErrorKind kind;
  std::string_view name;
  int exit_code;
};

// The one table of kinds, their names in Lua and their exit codes.
constexpr KindInfo kKinds[] = {
    {ErrorKind::invalid_input, "invalid_input", 2},
    {ErrorKind::not_found, "not_found", 3},
    {ErrorKind::conflict, "conflict", 4},
    {ErrorKind::auth, "auth", 5},
    {ErrorKind::network, "network", 6},
    {ErrorKind::io, "io", 7},
    {ErrorKind::unsupported, "unsupported", 8},
    {ErrorKind::internal, "internal", 9},
    {ErrorKind::recipe, "recipe", 10},
    {ErrorKind::interrupted, "interrupted", 130},
};

const KindInfo& info(ErrorKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k;
  return kKinds[7];  // internal
}

}  // namespace

std::string_view kind_name(ErrorKind kind) { return info(kind).name; }

ErrorKind kind_from_name(std::string_view name) {
  for (const auto& k : kKinds)
    if (k.name == name) return k.kind;
  return ErrorKind::internal;
}

int exit_code(ErrorKind kind) { return info(kind).exit_code; }

Error::Error(ErrorKind kind, std::string message, std::string hint)
    : std::runtime_error(message), kind_(kind), message_(std::move(message)), hint_(std::move(hint)) {}

Error Error::with_context(std::string_view context) const {
  std::string m(context);
  m += ": ";
  m += message_;
  return Error(kind_, std::move(m), hint_);
}

void fail(ErrorKind kind, std::string message, std::string hint) {
  throw Error(kind, std::move(message), std::move(hint));
}

void fail_errno(std::string_view what, std::string hint) {
  int e = errno;
  std::string m(what);
  m += ": ";
  m += std::strerror(e);
  ErrorKind kind = ErrorKind::io;
  if (e == ENOENT) kind = ErrorKind::not_found;
  if (e == EEXIST) kind = ErrorKind::conflict;
  if (e == EINTR) kind = ErrorKind::interrupted;
  throw Error(kind, std::move(m), std::move(hint));
}

}  // namespace banger
