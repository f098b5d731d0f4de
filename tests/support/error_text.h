// The message of the banger::Error that `f` throws, or "(no error)": lets
// tests pin exact error text in one CHECK.
#pragma once

#include <functional>
#include <string>

#include "host/core/error.h"

namespace banger::test {

inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "(no error)";
}

}  // namespace banger::test
