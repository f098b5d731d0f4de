// TarBuilder is header-only (tests/support/tar_builder.h): it needs
// libarchive, and every test binary compiles every tests/support/*.cc file.
#include "tests/support/tar_builder.h"
