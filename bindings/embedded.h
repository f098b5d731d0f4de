// Files compiled into the binary (lua/stdlib, lua/recipes, catalog/).
#pragma once

#include <string_view>
#include <vector>

namespace banger {

struct EmbeddedFile {
  std::string_view path;  // relative to the source tree: "lua/recipes/image_pull.lua"
  std::string_view contents;
};

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace banger
