// A BANGER_HOME ready for VM end-to-end tests: the Debian cloud kernel
// (fetched once per machine through apt, then imported) as `debian-cloud`,
// and the Debian test image pulled as `debian-bookworm`, so `banger vm run`
// with its defaults boots without reaching any network.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "host/core/process.h"
#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

namespace banger::test {

class SandboxHome {
 public:
  // `image_ref`: what to pull as debian-bookworm (default: the cached Debian
  // test layout, oci:LAYOUT:gzip).
  explicit SandboxHome(const std::string& image_ref = "", std::map<std::string, std::string> extra_env = {});
  ~SandboxHome();
  CliOptions env() const;
  std::string path(const std::string& rel) const { return dir_ / rel; }
  // Runs banger in this home; fails the test on a non-zero exit.
  CliResult must(const std::vector<std::string>& args) const;

 private:
  TempDir dir_;
  std::map<std::string, std::string> extra_env_;
};

// VM `name`'s record as `vm ls --json` shows it; null when there is none.
nlohmann::json vm_record(const SandboxHome& home, const std::string& name);

// Sets a field of snapshot `name`'s index record (a JSON string value), as
// a snapshot made elsewhere would have it.
void set_snapshot_field(const SandboxHome& home, const std::string& name, const std::string& field,
                        const std::string& value);

// Sets `field` (a JSON path below the record: "workspace.later") of the
// index record `kind`/`name` to `json` (a JSON text: "true", "\"x\""), as
// a banger killed at that point would have left it.
void set_record_json(const SandboxHome& home, const std::string& kind, const std::string& name,
                     const std::string& field, const std::string& json);

// `banger ARGS` in `home`, started now and not waited for; its stdout and
// stderr go to the file `out`.
Process start_banger(const SandboxHome& home, const std::vector<std::string>& args, const std::string& out);

// The number of qemu-system processes whose command line names `needle`.
int qemu_processes(const std::string& needle);

}  // namespace banger::test
