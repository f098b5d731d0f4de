#include <catch2/catch.hpp>

#include "host/core/error.h"
#include "host/core/vm_name.h"
#include "tests/support/error_text.h"

using namespace banger;

TEST_CASE("vm name: 1-40 lowercase letters, digits and '-', not starting with '-'", "[core]") {
  CHECK(valid_vm_name("dev-1"));
  CHECK(valid_vm_name("0box"));
  CHECK(valid_vm_name(std::string(40, 'a')));
  CHECK_FALSE(valid_vm_name(std::string(41, 'a')));
  CHECK_FALSE(valid_vm_name(""));
  CHECK_FALSE(valid_vm_name("-dev"));
  CHECK_FALSE(valid_vm_name("Dev"));
  CHECK_FALSE(valid_vm_name("dev_1"));
  CHECK_FALSE(valid_vm_name("dev.1"));
  CHECK_FALSE(valid_vm_name("bad name"));
}

TEST_CASE("vm name: the error says the rule", "[core]") {
  CHECK(test::error_message([] { check_vm_name("bad name"); }) == "invalid VM name 'bad name'");
  CHECK(test::error_message([] { check_vm_name(""); }) == "invalid VM name ''");
  try {
    check_vm_name("Dev_1");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(e.hint() == "use lowercase letters, digits and '-' (at most 40), starting with a letter or digit");
  }
  CHECK_NOTHROW(check_vm_name("ok-1"));
}
