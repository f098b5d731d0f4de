// Tar entry names -> clean paths relative to the image root. Only real
// directories of the image are ever walked (host/ext4/writer.h), so a clean,
// confined name is all it takes to keep an entry inside the image.
#pragma once

#include <string>
#include <string_view>

namespace banger::layers {

// "./usr//bin/../lib/" -> "usr/lib"; "." or "./" -> "" (the root).
// Throws invalid_input for an absolute name, a name that climbs above the
// root with "..", an empty name or a component longer than 255 bytes.
// `root` names the root in that message ("path leaves the image root").
std::string clean_tar_path(std::string_view name, std::string_view root = "the image root");

}  // namespace banger::layers
