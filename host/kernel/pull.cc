#include "host/kernel/pull.h"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/core/process.h"
#include "host/kernel/archive.h"
#include "host/kernel/bzimage.h"
#include "host/kernel/download.h"

namespace banger::kernel {
namespace {

namespace stdfs = std::filesystem;

const char* kAptHint = "run 'apt-get update' (as root) and check that the package name exists";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string last_lines(const std::string& text, int n) {
  std::string t = trim(text);
  size_t pos = t.size();
  for (int i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = t.rfind('\n', pos - 1);
  return pos == std::string::npos ? t : t.substr(pos + 1);
}

// The first stanza's value of `field` in apt-cache show output.
std::string stanza_field(const std::string& show, const std::string& field) {
  std::string key = field + ": ";
  size_t pos = 0;
  while (pos < show.size()) {
    size_t end = show.find('\n', pos);
    if (end == std::string::npos) end = show.size();
    if (end == pos) break;  // blank line: end of the first stanza
    if (show.compare(pos, key.size(), key) == 0)
      return trim(show.substr(pos + key.size(), end - pos - key.size()));
    pos = end + 1;
  }
  return {};
}

unsigned long long disk_use(const std::string& dir) {
  unsigned long long total = 0;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

// Where an entry of a kernel archive goes in the kernel directory.
struct KernelFilter {
  std::string kernel_name;  // the vmlinuz file seen, e.g. "vmlinuz-6.1.0-56-cloud-amd64"
  std::string operator()(const std::string& path) {
    static const std::regex vmlinuz(R"(^(boot/)?(vmlinuz[^/]*|bzImage)$)");
    static const std::regex modules(R"(^(usr/)?lib/modules/([^/]+)/(.+)$)");
    std::smatch m;
    if (std::regex_match(path, m, vmlinuz)) {
      if (!kernel_name.empty()) return {};  // the first one wins
      kernel_name = m[2];
      return "vmlinuz";
    }
    if (std::regex_match(path, m, modules)) return "modules/" + m[2].str() + "/" + m[3].str();
    return {};
  }
};

// Checks what an unpacked archive gave and fills in the manifest.
Manifest finish_unpack(const std::string& dest_dir, const std::string& what) {
  std::string kernel = dest_dir + "/vmlinuz";
  if (!fs::exists(kernel)) {
    fail(ErrorKind::invalid_input, what + ": no kernel image (boot/vmlinuz-*) inside",
         "use a package or archive that contains the kernel image");
  }
  auto info = inspect_bzimage(kernel);
  Manifest m;
  m.version = info.version;
  std::vector<std::string> versions;
  std::error_code ec;
  if (stdfs::is_directory(dest_dir + "/modules", ec)) {
    for (auto& e : stdfs::directory_iterator(dest_dir + "/modules", ec)) {
      versions.push_back(e.path().filename().string());
    }
  }
  if (m.version.empty() && versions.size() == 1) m.version = versions.front();
  if (!versions.empty()) {
    if (std::find(versions.begin(), versions.end(), m.version) == versions.end()) {
      fail(ErrorKind::invalid_input,
           what + ": the kernel is " + m.version + " but the modules are for " + versions.front(),
           "use an archive whose kernel and lib/modules match");
    }
    m.modules = "modules/" + m.version;
  }
  return m;
}

void copy_file(const std::string& from, const std::string& to, int mode) {
  std::error_code ec;
  stdfs::copy_file(from, to, stdfs::copy_options::overwrite_existing, ec);
  if (ec) fail(ErrorKind::io, "copying " + from + " to " + to + ": " + ec.message());
  ::chmod(to.c_str(), mode);
}

// Copies regular files and directories (never symlinks) of `from` into `to`.
void copy_tree(const std::string& from, const std::string& to) {
  fs::make_dirs(to, 0755);
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(from, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    check_interrupted();
    if (it->is_symlink(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    std::string dest = to + "/" + stdfs::relative(it->path(), from).string();
    if (it->is_directory(ec)) {
      fs::make_dirs(dest, 0755);
    } else if (it->is_regular_file(ec)) {
      copy_file(it->path().string(), dest, 0644);
    }
  }
  if (ec) fail(ErrorKind::io, "copying " + from + ": " + ec.message());
}

Manifest pull_apt(const nlohmann::json& entry, const std::string& dest_dir) {
  auto it = entry.find("package");
  if (it == entry.end() || !it->is_string() || it->get<std::string>().empty()) {
    fail(ErrorKind::invalid_input, "apt kernel source needs \"package\"",
         "add \"package\": \"linux-image-cloud-amd64\" to the catalog entry");
  }
  auto pkg = apt_resolve_package(it->get<std::string>());
  if (!find_executable("apt-get")) {
    fail(ErrorKind::unsupported, "apt-get not found: apt kernel sources need a Debian-based host",
         "import a kernel with 'banger kernel import --kernel PATH'");
  }
  std::string tmp = fs::make_temp_dir(dest_dir, "download");
  std::vector<std::string> argv = {"apt-get", "download", "-q"};
  if (::geteuid() == 0) {
    // apt drops to the _apt user, which cannot write into our 0700 dir.
    argv.push_back("-o");
    argv.push_back("APT::Sandbox::User=root");
  }
  argv.push_back(pkg.name + "=" + pkg.version);
  spdlog::debug("downloading {} {} with apt-get", pkg.name, pkg.version);
  auto r = run_capture(argv, {}, tmp);
  check_interrupted();
  if (r.exit_code != 0) {
    fs::remove_all(tmp);
    fail(ErrorKind::network,
         "apt-get download " + pkg.name + "=" + pkg.version + " failed (exit " + std::to_string(r.exit_code) +
             "): " + last_lines(r.err, 3),
         kAptHint);
  }
  std::string deb;
  std::error_code ec;
  for (auto& e : stdfs::directory_iterator(tmp, ec)) {
    if (e.path().extension() == ".deb") deb = e.path().string();
  }
  if (deb.empty()) {
    fs::remove_all(tmp);
    fail(ErrorKind::io, "apt-get download " + pkg.name + " left no .deb file", kAptHint);
  }
  Manifest m;
  try {
    m = unpack_kernel_deb(deb, dest_dir);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  fs::remove_all(tmp);
  m.source = "apt";
  m.origin = pkg.name;
  m.origin_version = pkg.version;
  return m;
}

Manifest pull_url(const nlohmann::json& entry, const std::string& dest_dir) {
  auto url = entry.value("url", std::string());
  auto sha = entry.value("sha256", std::string());
  if (url.empty()) fail(ErrorKind::invalid_input, "url kernel source needs \"url\"");
  if (sha.empty()) {
    fail(ErrorKind::invalid_input, "url kernel source " + url + " needs \"sha256\"",
         "add the archive's sha256 (sha256sum FILE) to the catalog entry");
  }
  std::string tmp = fs::make_temp_dir(dest_dir, "download");
  std::string file = tmp + "/archive";
  Manifest m;
  try {
    download_verified(url, sha, file);
    std::string head = fs::read_file(file).substr(0, 0x210);
    if (head.rfind("!<arch>\n", 0) == 0) {
      m = unpack_kernel_deb(file, dest_dir);
    } else if (head.size() >= 0x206 && head.compare(0x202, 4, "HdrS") == 0) {
      copy_file(file, dest_dir + "/vmlinuz", 0644);
      m = finish_unpack(dest_dir, url);
    } else {
      KernelFilter filter;
      extract_archive(file, dest_dir, std::ref(filter), url);
      m = finish_unpack(dest_dir, url);
    }
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  fs::remove_all(tmp);
  m.source = "url";
  m.origin = url;
  m.origin_version = sha;
  return m;
}

}  // namespace

AptPackage apt_resolve_package(const std::string& package) {
  if (!find_executable("apt-cache")) {
    fail(ErrorKind::unsupported, "apt-cache not found: apt kernel sources need a Debian-based host",
         "import a kernel with 'banger kernel import --kernel PATH'");
  }
  std::string name = package;
  for (int hop = 0; hop < 3; ++hop) {
    auto r = run_capture({"apt-cache", "show", "--no-all-versions", name});
    std::string version = stanza_field(r.out, "Version");
    if (r.exit_code != 0 || version.empty()) {
      fail(ErrorKind::not_found,
           "kernel package " + name + " not found by apt-cache" +
               (r.err.empty() ? std::string() : ": " + last_lines(r.err, 1)),
           kAptHint);
    }
    // A metapackage (linux-image-cloud-amd64) depends on the real package
    // (linux-image-6.1.0-56-cloud-amd64), whose name has the ABI version.
    static const std::regex real(R"(^linux-image-[0-9].*)");
    if (std::regex_match(name, real)) return {name, version};
    std::string next;
    for (auto& dep :
         std::vector<std::string>{stanza_field(r.out, "Depends"), stanza_field(r.out, "Pre-Depends")}) {
      static const std::regex image(R"((linux-image-[0-9][^ ,(|]*))");
      std::smatch m;
      if (std::regex_search(dep, m, image)) {
        next = m[1];
        break;
      }
    }
    if (next.empty()) return {name, version};  // not a metapackage: use it as is
    spdlog::debug("kernel package {} -> {}", name, next);
    name = next;
  }
  fail(ErrorKind::invalid_input, "kernel package " + package + ": too many metapackage hops");
}

Manifest unpack_kernel_deb(const std::string& deb_path, const std::string& dest_dir) {
  KernelFilter filter;
  auto stats = extract_deb(deb_path, dest_dir, std::ref(filter));
  spdlog::debug("unpacked {}: {} files, {} bytes", deb_path, stats.files, stats.bytes);
  auto m = finish_unpack(dest_dir, deb_path);
  if (!filter.kernel_name.empty() && filter.kernel_name != "vmlinuz-" + m.version) {
    spdlog::debug("{}: kernel file {} has version {}", deb_path, filter.kernel_name, m.version);
  }
  return m;
}

Manifest pull(const std::string& name, const nlohmann::json& entry, const std::string& dest_dir) {
  if (!entry.is_object()) {
    fail(ErrorKind::invalid_input, "kernel " + name + ": the catalog entry is not an object");
  }
  if (!stdfs::is_directory(dest_dir)) {
    fail(ErrorKind::not_found, "kernel " + name + ": destination directory not found: " + dest_dir);
  }
  std::string source = entry.value("source", std::string());
  Manifest m;
  try {
    if (source == "apt") {
      m = pull_apt(entry, dest_dir);
    } else if (source == "url") {
      m = pull_url(entry, dest_dir);
    } else if (source == "local") {
      ImportSpec spec{entry.value("kernel", std::string()), entry.value("initrd", std::string()),
                      entry.value("modules", std::string())};
      return import_kernel(name, spec, dest_dir);
    } else {
      fail(ErrorKind::invalid_input, "unknown kernel source \"" + source + "\"",
           "the catalog entry's \"source\" must be \"apt\", \"url\" or \"local\"");
    }
  } catch (const Error& e) {
    throw e.with_context("pulling kernel " + name);
  }
  m.name = name;
  m.bytes = disk_use(dest_dir);
  write_manifest(dest_dir, m);
  spdlog::debug("kernel {}: {} from {} {} ({} MB)", name, m.version, m.origin, m.origin_version,
                m.bytes >> 20);
  return m;
}

Manifest import_kernel(const std::string& name, const ImportSpec& spec, const std::string& dest_dir) {
  KernelSpec ks;
  ks.kernel = spec.kernel;
  ks.initrd = spec.initrd;
  ks.modules = spec.modules;
  Triple t;
  try {
    t = resolve(ks);
  } catch (const Error& e) {
    throw e.with_context("importing kernel " + name);
  }
  Manifest m;
  m.name = name;
  m.version = t.version;
  m.source = "local";
  m.origin = t.kernel;
  copy_file(t.kernel, dest_dir + "/vmlinuz", 0644);
  if (!t.initrd.empty()) {
    copy_file(t.initrd, dest_dir + "/initrd.img", 0644);
    m.initrd = "initrd.img";
  }
  if (!t.modules.empty()) {
    std::string ver = t.version.empty() ? stdfs::path(t.modules).filename().string() : t.version;
    copy_tree(t.modules, dest_dir + "/modules/" + ver);
    m.modules = "modules/" + ver;
  }
  m.bytes = disk_use(dest_dir);
  write_manifest(dest_dir, m);
  return m;
}

}  // namespace banger::kernel
