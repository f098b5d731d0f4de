// A VM's workspace, start to end: create() builds its disk from a directory
// and records what went in; export_results() reads the disk back on the
// host (the guest's help is not needed, nor git in the image), compares it
// with what went in, and hands the changes over as a branch, to the working
// tree, or as files in a directory. The bindings expose both as
// _host.workspace; lua/stdlib/banger/workspace.lua documents them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/workspace/diff.h"

namespace banger::workspace {

struct CreateRequest {
  std::string vm;         // names the VM in commit messages and errors
  std::string source;     // the directory
  std::string state_dir;  // the VM's directory: the disk and manifest go here
  uint64_t size = 0;      // disk bytes; 0: default_disk_size
};

struct Workspace {
  std::string source;  // absolute
  bool git = false;
  std::string head, base;  // git: HEAD then, and the commit the workspace is taken from
  std::string disk, manifest;
  uint64_t files = 0;       // in the manifest
  uint64_t entries = 0;     // on the disk (.git included)
  uint64_t data_bytes = 0;  // copied
  uint64_t disk_size = 0;
  double seconds = 0;
};

Workspace create(const CreateRequest& request);

// A workspace disk written while something else goes on (the VM boots):
// begin() scans the source and makes the disk file at its final size, so a
// VMM can open it at once, then writes the disk on a thread of its own.
// The guest must not look at the disk before wait() returns (it mounts it
// only when told: proto::kToolMountWorkspace). create() is begin + wait.
class Building {
 public:
  static std::unique_ptr<Building> begin(const CreateRequest& request);
  ~Building();  // waits for the thread; an unfinished disk stays (the VM's directory goes with it)
  Building(const Building&) = delete;
  Building& operator=(const Building&) = delete;

  // The workspace as it will be: the disk's path and size are final, the
  // counts are not yet known.
  const Workspace& planned() const;
  // The finished workspace, or the build's error (the disk removed). Once.
  Workspace wait();

  struct State;

 private:
  explicit Building(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

enum class ExportMode {
  branch,  // git: a commit on branch banger/VM
  apply,   // git: the changes applied to the working tree
  dir,     // the changed files in a new directory
  check,   // only count the changes
};

struct ExportRequest {
  std::string vm;
  Workspace workspace;
  ExportMode mode = ExportMode::branch;
  std::string dir;      // ExportMode::dir
  std::string scratch;  // where temporary files go (the VM's directory)
};

struct ExportResult {
  // "branch", "applied", "dir", "none" (nothing changed), or "pending"
  // (ExportMode::check, and there are changes).
  std::string kind;
  std::string branch, commit, dir;
  ChangeCounts counts;
  size_t commits = 0;                // guest commits brought back
  std::string note;                  // guest commits left out, and why
  std::vector<std::string> skipped;  // entries not brought back (devices, nested repositories, ignored files)
};

ExportResult export_results(const ExportRequest& request);

// "banger/VM": the branch a VM's results go to.
std::string branch_name(const std::string& vm);

}  // namespace banger::workspace
