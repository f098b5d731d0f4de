#include "host/core/vm_name.h"

#include "host/core/error.h"

namespace banger {

bool valid_vm_name(const std::string& n) {
  if (n.empty() || n.size() > kMaxVmName || n[0] == '-') return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

void check_vm_name(const std::string& name) {
  if (!valid_vm_name(name)) fail_vm_name(name);
}

void fail_vm_name(const std::string& shown) {
  fail(ErrorKind::invalid_input, "invalid VM name '" + shown + "'",
       "use lowercase letters, digits and '-' (at most 40), starting with a letter or digit");
}

}  // namespace banger
