#include "host/kernel/modinfo.h"

#include <spdlog/spdlog.h>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/kernel/archive.h"

namespace banger::kernel {
namespace {

template <typename T>
T read_le(const std::string& s, size_t off) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= T(uint8_t(s[off + i])) << (8 * i);
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string normalize(std::string name) {
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

}  // namespace

ModInfo parse_modinfo(const std::string& elf, const std::string& what) {
  auto bad = [&](const std::string& why) {
    fail(ErrorKind::invalid_input, what + ": not a kernel module: " + why,
         "the modules directory is damaged; pull the kernel again");
  };
  if (elf.size() < 0x40 || elf.compare(0, 4,
                                       "\x7f"
                                       "ELF") != 0)
    bad("no ELF header");
  if (elf[4] != 2 || elf[5] != 1) bad("not a 64-bit little-endian ELF file");
  uint64_t shoff = read_le<uint64_t>(elf, 0x28);
  uint16_t shentsize = read_le<uint16_t>(elf, 0x3A);
  uint16_t shnum = read_le<uint16_t>(elf, 0x3C);
  uint16_t shstrndx = read_le<uint16_t>(elf, 0x3E);
  if (shentsize < 0x40 || shstrndx >= shnum || shoff > elf.size() ||
      uint64_t(shnum) * shentsize > elf.size() - shoff) {
    bad("section headers out of range");
  }
  auto section = [&](uint16_t i, uint64_t& off, uint64_t& size, uint32_t& name) {
    size_t h = size_t(shoff + uint64_t(i) * shentsize);
    name = read_le<uint32_t>(elf, h);
    off = read_le<uint64_t>(elf, h + 0x18);
    size = read_le<uint64_t>(elf, h + 0x20);
    if (off > elf.size() || size > elf.size() - off) bad("section out of range");
  };
  uint64_t stroff, strsize;
  uint32_t unused;
  section(shstrndx, stroff, strsize, unused);
  std::string modinfo;
  bool found = false;
  for (uint16_t i = 0; i < shnum && !found; ++i) {
    uint64_t off, size;
    uint32_t name;
    section(i, off, size, name);
    if (name >= strsize) continue;
    const char* n = elf.data() + stroff + name;
    size_t maxlen = size_t(strsize - name);
    if (strnlen(n, maxlen) == 8 && std::memcmp(n, ".modinfo", 8) == 0) {
      modinfo = elf.substr(size_t(off), size_t(size));
      found = true;
    }
  }
  if (!found) bad("no .modinfo section");
  ModInfo info;
  for (const auto& field : split(modinfo, '\0')) {
    auto eq = field.find('=');
    if (eq == std::string::npos) continue;
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "name") {
      info.name = value;
    } else if (key == "depends") {
      for (auto& d : split(value, ',')) info.depends.push_back(normalize(d));
    } else if (key == "vermagic") {
      info.vermagic = value;
    } else if (key == "softdep") {
      // "pre: a b post: c"
      bool pre = false;
      std::istringstream words(value);
      std::string w;
      while (words >> w) {
        if (w == "pre:") {
          pre = true;
        } else if (w == "post:") {
          pre = false;
        } else if (pre) {
          info.softdep_pre.push_back(normalize(w));
        }
      }
    }
  }
  if (info.name.empty()) info.name = module_name_from_file(what);
  return info;
}

ModInfo read_modinfo(const std::string& path) {
  return parse_modinfo(decompress_raw(fs::read_file(path), path), path);
}

ModuleIndex ModuleIndex::scan(const std::string& dir) {
  namespace stdfs = std::filesystem;
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) {
    fail(ErrorKind::not_found, "kernel modules directory not found: " + dir,
         "pull the kernel again, or pass the lib/modules/<version> directory of the kernel");
  }
  ModuleIndex index;
  index.dir = dir;
  std::vector<std::string> rels;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto name = it->path().filename().string();
    if (is_module_file(name)) rels.push_back(stdfs::relative(it->path(), dir).string());
  }
  if (ec) fail(ErrorKind::io, "listing kernel modules in " + dir + ": " + ec.message());
  std::sort(rels.begin(), rels.end());
  for (const auto& rel : rels) {
    auto name = module_name_from_file(rel);
    auto [it, fresh] = index.files.emplace(name, rel);
    if (!fresh) spdlog::debug("module {}: using {}, ignoring {}", name, it->second, rel);
  }
  if (fs::exists(dir + "/modules.builtin")) {
    for (const auto& line : split(fs::read_file(dir + "/modules.builtin"), '\n')) {
      index.builtin.insert(module_name_from_file(line));
    }
  }
  return index;
}

std::vector<ModuleLoad> load_order(const ModuleIndex& index, const std::vector<std::string>& required,
                                   const std::vector<std::string>& optional) {
  std::vector<ModuleLoad> order;
  std::map<std::string, int> state;  // 1 = visiting, 2 = done
  std::function<void(const std::string&, const std::string&, bool)> visit = [&](const std::string& raw,
                                                                                const std::string& needed_by,
                                                                                bool must) {
    std::string name = normalize(raw);
    int& s = state[name];
    if (s == 2) return;
    if (s == 1) {
      fail(ErrorKind::invalid_input, "kernel modules in " + index.dir + ": dependency cycle through " + name);
    }
    auto file = index.files.find(name);
    if (file == index.files.end()) {
      s = 2;
      if (index.builtin.count(name) || !must) return;
      fail(ErrorKind::not_found,
           "kernel module " + name + (needed_by.empty() ? "" : " (needed by " + needed_by + ")") +
               " not found in " + index.dir,
           "the kernel has no such module; use a kernel with it, or pull the kernel again");
    }
    s = 1;
    ModInfo info = read_modinfo(index.dir + "/" + file->second);
    for (const auto& dep : info.softdep_pre) visit(dep, name, false);
    for (const auto& dep : info.depends) visit(dep, name, true);
    s = 2;
    order.push_back({name, file->second});
  };
  for (const auto& name : required) visit(name, "", true);
  for (const auto& name : optional) visit(name, "", false);
  return order;
}

const std::vector<std::string>& default_guest_modules() {
  static const std::vector<std::string> names = {"virtio_mmio", "virtio_blk", "virtio_net", "virtio_console"};
  return names;
}

const std::vector<std::string>& optional_guest_modules() {
  static const std::vector<std::string> names = {"virtio_rng", "vsock", "vmw_vsock_virtio_transport",
                                                 "virtiofs"};
  return names;
}

}  // namespace banger::kernel
