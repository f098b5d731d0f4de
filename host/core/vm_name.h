// The VM name rule, the one every layer checks: the CLI (through
// _host.core.check_vm_name), vm::check_spec, tap and ssh config names. A name
// becomes the guest's hostname, `NAME.vm` in the ssh config and part of the
// tap device's name, so it is 1-40 lowercase letters, digits and '-',
// starting with a letter or digit.
#pragma once

#include <string>

namespace banger {

inline constexpr size_t kMaxVmName = 40;

bool valid_vm_name(const std::string& name);

// invalid_input "invalid VM name 'NAME'" with the rule as the hint, unless valid.
void check_vm_name(const std::string& name);

// The same error for something shown as `shown` (a value that is not even a string).
[[noreturn]] void fail_vm_name(const std::string& shown);

}  // namespace banger
