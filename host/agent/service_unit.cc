#include "host/agent/service_unit.h"

#include "host/core/error.h"
#include "host/ext4/editor.h"
#include "proto/boot.h"

namespace banger::agents {

namespace {

// A regular file at `path` once symlinks are resolved inside the image.
// Image::stat() does not follow the last component, so links are taken here,
// one hop at a time (the image resolves the ones on the way, confined to it).
bool resolves_to_file(ext4::Editor& image, std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    ext4::Stat st;
    try {
      if (!image.exists(path)) return false;
      st = image.stat(path);
    } catch (const Error&) {
      return false;  // a parent that is not a directory, a link loop: no systemd here
    }
    if (st.type == ext4::FileType::regular) return true;
    if (st.type != ext4::FileType::symlink || st.target.empty()) return false;
    path = st.target[0] == '/' ? st.target : path.substr(0, path.rfind('/') + 1) + st.target;
  }
  return false;
}

// The directory part of `path` ("/a/b/c" -> "/a/b").
std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

}  // namespace

std::string service_unit_text() {
  return "# Written by banger (image pull): its guest agent as a service, for VMs\n"
         "# that boot the image's own init (banger.init=/lib/systemd/systemd on the\n"
         "# kernel command line). The default boot runs the agent as PID 1 instead.\n"
         "[Unit]\n"
         "Description=banger guest agent\n"
         "\n"
         "[Service]\n"
         "ExecStart=" +
         std::string(proto::kAgentPath) +
         " --service\n"
         "Restart=always\n"
         "RestartSec=1\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
}

bool has_systemd(ext4::Editor& image) {
  return resolves_to_file(image, "/lib/systemd/systemd") ||
         resolves_to_file(image, "/usr/lib/systemd/systemd");
}

std::string install_service_unit(ext4::Editor& image) {
  if (!has_systemd(image)) return "";
  const ext4::Owner root{0, 0};
  for (const char* path : {kServiceUnitPath, kServiceWantsPath}) {
    std::string dir = parent_of(path);
    if (!image.exists(dir)) image.mkdir(dir, 0755, root, true);
    // A directory in the way of a file we own is the image's mistake: it goes.
    if (image.exists(path) && image.stat(path).type == ext4::FileType::directory) image.rm(path, true);
  }
  // write() and symlink() replace what is at the path instead of following it.
  image.write(kServiceUnitPath, service_unit_text(), 0644, root);
  if (image.exists(kServiceWantsPath)) image.rm(kServiceWantsPath);
  image.symlink(kServiceWantsPath, kServiceUnitPath, root);
  return kServiceUnitPath;
}

}  // namespace banger::agents
