#include "host/kernel/resolve.h"

#include <sys/stat.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/kernel/archive.h"
#include "host/kernel/bzimage.h"
#include "host/kernel/modinfo.h"

namespace banger::kernel {
namespace {

std::string absolute(const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string pull_hint(const std::string& name) {
  return "run 'banger kernel pull " + name + "' to fetch it again";
}

}  // namespace

nlohmann::json Manifest::to_json() const {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"name", name},
          {"version", version},
          {"source", source},
          {"origin", origin},
          {"origin_version", origin_version},
          {"kernel", kernel},
          {"initrd", opt(initrd)},
          {"modules", opt(modules)},
          {"bytes", bytes}};
}

Manifest Manifest::from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) fail(ErrorKind::invalid_input, what + ": not a JSON object");
  auto str = [&](const char* key) -> std::string {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_string()) fail(ErrorKind::invalid_input, what + ": \"" + key + "\" is not a string");
    return it->get<std::string>();
  };
  Manifest m;
  m.name = str("name");
  m.version = str("version");
  m.source = str("source");
  m.origin = str("origin");
  m.origin_version = str("origin_version");
  m.kernel = str("kernel");
  m.initrd = str("initrd");
  m.modules = str("modules");
  if (auto it = j.find("bytes"); it != j.end() && it->is_number_unsigned()) {
    m.bytes = it->get<unsigned long long>();
  }
  if (m.kernel.empty()) fail(ErrorKind::invalid_input, what + ": no \"kernel\" entry");
  return m;
}

Manifest read_manifest(const std::string& dir) {
  std::string path = dir + "/kernel.json";
  if (!fs::exists(path)) fail(ErrorKind::not_found, "kernel manifest not found: " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::invalid_input, path + ": " + e.what(), "pull or import the kernel again");
  }
  return Manifest::from_json(j, path);
}

void write_manifest(const std::string& dir, const Manifest& m) {
  fs::write_file_atomic(dir + "/kernel.json", m.to_json().dump(2) + "\n");
}

nlohmann::json Triple::to_json() const {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"kernel", kernel},
          {"initrd", opt(initrd)},
          {"modules", opt(modules)},
          {"version", version},
          {"banner", banner}};
}

std::string locate_modules_dir(const std::string& dir, const std::string& version) {
  if (!version.empty()) {
    if (is_dir(dir + "/" + version + "/kernel")) return dir + "/" + version;
    if (is_dir(dir + "/lib/modules/" + version)) return dir + "/lib/modules/" + version;
  }
  return dir;
}

Triple resolve(const KernelSpec& spec) {
  const std::string label = spec.name.empty() ? "" : "kernel " + spec.name + ": ";
  Triple t;
  Manifest m;
  std::string dir = absolute(spec.dir);
  if (!dir.empty()) {
    if (!is_dir(dir)) {
      fail(ErrorKind::not_found, label + "kernel directory not found: " + dir,
           spec.name.empty() ? "check the kernel directory path" : pull_hint(spec.name));
    }
    try {
      m = read_manifest(dir);
    } catch (const Error& e) {
      throw Error(e.kind(), label + e.message(), spec.name.empty() ? e.hint() : pull_hint(spec.name));
    }
    t.kernel = dir + "/" + m.kernel;
    if (!m.initrd.empty()) t.initrd = dir + "/" + m.initrd;
    if (!m.modules.empty()) t.modules = dir + "/" + m.modules;
  }
  if (!spec.kernel.empty()) t.kernel = absolute(spec.kernel);
  if (!spec.initrd.empty()) t.initrd = absolute(spec.initrd);
  if (!spec.modules.empty()) t.modules = absolute(spec.modules);
  const bool explicit_kernel = !spec.kernel.empty() || dir.empty();
  auto hint_for = [&](bool explicit_path, const char* flag) {
    if (!explicit_path && !spec.name.empty()) return pull_hint(spec.name);
    return std::string("check the path given for ") + flag;
  };

  if (t.kernel.empty()) {
    fail(ErrorKind::invalid_input, label + "no kernel given",
         "name a kernel from 'banger kernel ls', or pass --kernel PATH");
  }
  if (!is_file(t.kernel)) {
    fail(ErrorKind::not_found, label + "kernel image not found: " + t.kernel,
         hint_for(explicit_kernel, "--kernel"));
  }
  try {
    auto info = inspect_bzimage(t.kernel);
    t.version = info.version;
    t.banner = info.banner;
  } catch (const Error& e) {
    throw Error(e.kind(), label + e.message(),
                explicit_kernel || spec.name.empty() ? e.hint() : pull_hint(spec.name));
  }
  if (t.version.empty()) t.version = m.version;

  if (!t.initrd.empty() && !is_file(t.initrd)) {
    fail(ErrorKind::not_found, label + "initrd not found: " + t.initrd,
         hint_for(!spec.initrd.empty(), "--initrd"));
  }
  if (!t.modules.empty()) {
    if (!is_dir(t.modules)) {
      fail(ErrorKind::not_found, label + "kernel modules directory not found: " + t.modules,
           hint_for(!spec.modules.empty(), "--modules"));
    }
    t.modules = locate_modules_dir(t.modules, t.version);
    auto index = ModuleIndex::scan(t.modules);
    if (index.files.empty()) {
      fail(ErrorKind::not_found, label + "no kernel modules (*.ko) in " + t.modules,
           hint_for(!spec.modules.empty(), "--modules"));
    }
    // Modules built for another kernel fail to load in the guest with
    // obscure errors: compare one module's vermagic with the kernel's version.
    auto probe = index.files.count("virtio") ? index.files.at("virtio") : index.files.begin()->second;
    auto info = read_modinfo(t.modules + "/" + probe);
    std::string modver = info.vermagic.substr(0, info.vermagic.find(' '));
    if (!t.version.empty() && !modver.empty() && modver != t.version) {
      fail(ErrorKind::invalid_input,
           label + "the modules in " + t.modules + " are for kernel " + modver + ", but " + t.kernel +
               " is " + t.version,
           "pass the lib/modules directory that came with this kernel");
    }
  }
  return t;
}

}  // namespace banger::kernel
