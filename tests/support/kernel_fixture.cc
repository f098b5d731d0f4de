#include "tests/support/kernel_fixture.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/process.h"
#include "host/core/staging_dir.h"

#ifndef BANGER_BINARY_DIR
#define BANGER_BINARY_DIR "."
#endif

namespace banger::test {
namespace {

namespace stdfs = std::filesystem;

std::string field(const std::string& show, const std::string& name) {
  std::string key = "\n" + name + ": ";
  std::string text = "\n" + show;
  auto stanza_end = text.find("\n\n");
  auto pos = text.find(key);
  if (pos == std::string::npos || (stanza_end != std::string::npos && pos > stanza_end)) return {};
  pos += key.size();
  return text.substr(pos, text.find('\n', pos) - pos);
}

KernelFixture load(const std::string& dir) {
  auto j = nlohmann::json::parse(fs::read_file(dir + "/kernel.json"));
  KernelFixture k;
  k.dir = dir;
  k.kernel = dir + "/" + j.at("kernel").get<std::string>();
  k.modules = dir + "/" + j.at("modules").get<std::string>();
  k.version = j.at("version").get<std::string>();
  k.package = j.at("origin").get<std::string>();
  k.package_version = j.at("origin_version").get<std::string>();
  k.deb = dir + "/package.deb";
  return k;
}

void fetch(const std::string& dir) {
  std::string parent = stdfs::path(dir).parent_path().string();
  fs::StagingDir staging(parent, "debian-cloud");
  const std::string& s = staging.path();
  // The metapackage names the real package (linux-image-6.1.0-NN-cloud-amd64).
  std::string meta = run_checked({"apt-cache", "show", "--no-all-versions", "linux-image-cloud-amd64"},
                                 "apt-cache show linux-image-cloud-amd64 (run apt-get update?)");
  std::string depends = field(meta, "Depends");
  std::string package = depends.substr(0, depends.find_first_of(" ,("));
  if (package.rfind("linux-image-", 0) != 0) {
    fail(ErrorKind::internal, "kernel fixture: unexpected Depends of linux-image-cloud-amd64: " + depends);
  }
  std::string show =
      run_checked({"apt-cache", "show", "--no-all-versions", package}, "apt-cache show " + package);
  std::string version = field(show, "Version");
  std::vector<std::string> argv = {"apt-get", "download", "-q"};
  if (::geteuid() == 0) argv.insert(argv.end(), {"-o", "APT::Sandbox::User=root"});
  argv.push_back(package + "=" + version);
  auto r = run_capture(argv, {}, s);
  if (r.exit_code != 0) {
    fail(ErrorKind::network, "kernel fixture: apt-get download " + package + " failed: " + r.err,
         "run 'apt-get update'");
  }
  std::string deb;
  for (auto& e : stdfs::directory_iterator(s)) {
    if (e.path().extension() == ".deb") deb = e.path().string();
  }
  if (deb.empty()) fail(ErrorKind::internal, "kernel fixture: apt-get download left no .deb");
  run_checked({"dpkg-deb", "-x", deb, s + "/x"}, "dpkg-deb -x " + deb);
  std::string kver;
  for (auto& e : stdfs::directory_iterator(s + "/x/lib/modules")) kver = e.path().filename().string();
  stdfs::rename(s + "/x/boot/vmlinuz-" + kver, s + "/vmlinuz");
  fs::make_dirs(s + "/modules", 0755);
  stdfs::rename(s + "/x/lib/modules/" + kver, s + "/modules/" + kver);
  stdfs::rename(deb, s + "/package.deb");
  fs::remove_all(s + "/x");
  nlohmann::json manifest = {{"name", "debian-cloud"},    {"version", kver},
                             {"source", "apt"},           {"origin", package},
                             {"origin_version", version}, {"kernel", "vmlinuz"},
                             {"initrd", nullptr},         {"modules", "modules/" + kver}};
  fs::write_file(s + "/kernel.json", manifest.dump(2) + "\n");
  staging.publish(dir);
}

}  // namespace

std::string test_cache_dir() {
  const char* env = std::getenv("BANGER_TEST_CACHE");
  std::string dir = env && *env ? env : std::string(BANGER_BINARY_DIR) + "/test-cache";
  fs::make_dirs(dir, 0755);
  return dir;
}

const KernelFixture& debian_cloud_kernel() {
  static const KernelFixture kernel = [] {
    std::string root = test_cache_dir() + "/kernels";
    fs::make_dirs(root, 0755);
    std::string dir = root + "/debian-cloud";
    int lock = ::open((root + "/debian-cloud.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) fail_errno("kernel fixture: opening the lock file");
    ::flock(lock, LOCK_EX);
    try {
      if (!fs::exists(dir + "/kernel.json")) fetch(dir);
      auto k = load(dir);
      ::close(lock);
      return k;
    } catch (...) {
      ::close(lock);
      throw;
    }
  }();
  return kernel;
}

}  // namespace banger::test
