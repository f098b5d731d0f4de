// A test that cannot run here says so instead of passing silently: it prints
// a line ctest recognises (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt)
// and reports as "Skipped", with the reason in the output.
#pragma once

#include <unistd.h>

#include <iostream>

#define BANGER_SKIP(reason)                                \
  do {                                                     \
    std::cout << "BANGER-SKIP: " << (reason) << std::endl; \
    return;                                                \
  } while (0)

// For tests that make bridges, taps and nftables rules.
#define BANGER_REQUIRE_ROOT() \
  if (::geteuid() != 0) BANGER_SKIP("needs root (bridges, taps and nftables rules); run the suite as root")
