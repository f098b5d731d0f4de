#include "tests/support/sandbox_home.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "host/core/process.h"
#include "tests/support/kernel_fixture.h"
#include "tests/support/test_images.h"

namespace banger::test {

SandboxHome::SandboxHome(const std::string& image_ref, std::map<std::string, std::string> extra_env)
    : extra_env_(std::move(extra_env)) {
  const KernelFixture& k = debian_cloud_kernel();
  must({"kernel", "import", "--name", "debian-cloud", "--kernel", k.kernel, "--modules", k.modules});
  std::string ref = image_ref.empty() ? "oci:" + debian_oci_layout() + ":gzip" : image_ref;
  must({"image", "pull", ref, "--name", "debian-bookworm"});
}

SandboxHome::~SandboxHome() {
  // Nothing a test started may outlive it.
  run_banger({"vm", "rm", "--force", "--all"}, env());
  run_capture({"pkill", "-9", "-f", dir_.path() + "/"});
}

CliOptions SandboxHome::env() const {
  CliOptions o;
  // Warm starts off unless a test asks: its VMs boot as it says.
  o.env["BANGER_WARM"] = "0";
  for (const auto& [k, v] : extra_env_) o.env[k] = v;
  o.env["BANGER_HOME"] = dir_ / "home";
  o.env["XDG_CONFIG_HOME"] = dir_ / "config";
  o.cwd = dir_.path();
  return o;
}

CliResult SandboxHome::must(const std::vector<std::string>& args) const {
  CliResult r = run_banger(args, env());
  if (r.code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    FAIL("banger" << cmd << " failed (" << r.code << "):\n" << r.err);
  }
  return r;
}

int qemu_processes(const std::string& needle) {
  auto r = run_capture({"pgrep", "-f", "qemu-system.*" + needle});
  int n = 0;
  for (char c : r.out) n += c == '\n';
  return n;
}

nlohmann::json vm_record(const SandboxHome& home, const std::string& name) {
  for (const auto& r : nlohmann::json::parse(home.must({"vm", "ls", "--json"}).out))
    if (r["name"] == name) return r;
  return nullptr;
}

void set_record_json(const SandboxHome& home, const std::string& kind, const std::string& name,
                     const std::string& field, const std::string& json) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(home.path("home/index.db").c_str(), &db) == SQLITE_OK);
  std::string sql = "UPDATE records SET data = json_set(data, '$." + field + "', json('" + json +
                    "')) WHERE kind = '" + kind + "' AND name = '" + name + "'";
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_close(db);
}

void set_snapshot_field(const SandboxHome& home, const std::string& name, const std::string& field,
                        const std::string& value) {
  set_record_json(home, "snapshot", name, field, "\"" + value + "\"");
}

Process start_banger(const SandboxHome& home, const std::vector<std::string>& args, const std::string& out) {
  SpawnOptions o;
  o.argv = {banger_binary()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  for (const auto& [k, v] : home.env().env) o.env.push_back(k + "=" + v);
  o.cwd = home.env().cwd;
  o.stdin_fd = ::open("/dev/null", O_RDONLY);
  o.stdout_fd = o.stderr_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  Process p = Process::spawn(o);
  ::close(o.stdin_fd);
  ::close(o.stdout_fd);
  return p;
}

}  // namespace banger::test
