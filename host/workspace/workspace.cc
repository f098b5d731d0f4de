#include "host/workspace/workspace.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <thread>

#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/staging_dir.h"
#include "host/ext4/editor.h"
#include "host/workspace/disk.h"
#include "host/workspace/export_dir.h"
#include "host/workspace/git.h"
#include "host/workspace/git_result.h"
#include "host/workspace/guest_git.h"
#include "host/workspace/manifest.h"
#include "host/workspace/readback.h"
#include "host/workspace/source.h"

namespace banger::workspace {

std::string branch_name(const std::string& vm) { return "banger/" + vm; }

struct Building::State {
  std::chrono::steady_clock::time_point t0;
  Source source;
  DiskPlan plan;
  Workspace workspace;
  Tree tree;
  DiskStats stats;
  std::exception_ptr error;
  std::thread thread;
  bool waited = false;
};

namespace {

// The disk file at its final size, all zeros: QEMU sizes the drive when it
// opens the file, and the writer fills it in place (never truncating it).
void make_sized_file(const std::string& path, uint64_t size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("creating " + path);
  int rc = ftruncate(fd, static_cast<off_t>(size));
  int saved = errno;
  close(fd);
  if (rc != 0) {
    unlink(path.c_str());
    errno = saved;
    fail_errno("sizing " + path);
  }
}

void write_all(Building::State& st) {
  try {
    st.tree = write_disk(st.source, st.plan, st.workspace.disk, &st.stats);
    try {
      save_manifest(st.workspace.manifest, st.tree);
    } catch (...) {
      unlink(st.workspace.disk.c_str());
      throw;
    }
  } catch (...) {
    st.error = std::current_exception();
  }
}

}  // namespace

Building::Building(std::unique_ptr<State> state) : state_(std::move(state)) {}

Building::~Building() {
  if (state_->thread.joinable()) state_->thread.join();
}

std::unique_ptr<Building> Building::begin(const CreateRequest& req) {
  auto st = std::make_unique<State>();
  st->t0 = std::chrono::steady_clock::now();
  {
    fs::StagingDir scratch(req.state_dir, "workspace-scan");
    st->source = scan_source(req.source, req.vm, scratch.path());
  }
  Workspace& w = st->workspace;
  w.source = st->source.dir;
  w.git = st->source.git;
  w.head = st->source.head;
  w.base = st->source.base;
  w.disk = req.state_dir + "/workspace.ext4";
  w.manifest = req.state_dir + "/workspace.manifest";
  st->plan = plan_disk(st->source, req.size);
  w.disk_size = st->plan.size;
  make_sized_file(w.disk, st->plan.size);
  State* raw = st.get();
  st->thread = std::thread([raw] { write_all(*raw); });
  return std::unique_ptr<Building>(new Building(std::move(st)));
}

const Workspace& Building::planned() const { return state_->workspace; }

Workspace Building::wait() {
  State& st = *state_;
  if (st.waited)
    fail(ErrorKind::invalid_input, "the workspace disk " + st.workspace.disk + " was already waited for");
  st.waited = true;
  st.thread.join();
  if (st.error) std::rethrow_exception(st.error);
  Workspace w = st.workspace;
  w.files = st.tree.size();
  w.entries = st.stats.entries;
  w.data_bytes = st.stats.data_bytes;
  w.disk_size = st.stats.image_size;
  w.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.t0).count();
  return w;
}

Workspace create(const CreateRequest& req) { return Building::begin(req)->wait(); }

namespace {

// Drops added paths the repository ignores (build outputs the guest left):
// they would not have gone in either. The host's ignore rules decide.
std::vector<Change> drop_ignored(const std::string& repo, std::vector<Change> changes,
                                 std::vector<std::string>* skipped) {
  std::string input;
  for (const auto& c : changes)
    if (c.kind == ChangeKind::added) input += c.path + '\0';
  if (input.empty()) return changes;
  GitResult r = git_run({repo, {"check-ignore", "-z", "--stdin", "--no-index"}, input, {}});
  if (r.exit_code > 1) fail(ErrorKind::io, "git check-ignore in " + repo + " failed: " + r.err);
  std::vector<std::string> ignored;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nul = r.out.find('\0', pos);
    if (nul == std::string::npos) nul = r.out.size();
    ignored.push_back(r.out.substr(pos, nul - pos));
    pos = nul + 1;
  }
  std::sort(ignored.begin(), ignored.end());
  std::vector<Change> out;
  for (auto& c : changes) {
    if (c.kind == ChangeKind::added && std::binary_search(ignored.begin(), ignored.end(), c.path)) {
      skipped->push_back(c.path);
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string counts_text(const ChangeCounts& c) {
  return std::to_string(c.added) + " added, " + std::to_string(c.modified) + " modified, " +
         std::to_string(c.deleted) + " deleted";
}

}  // namespace

ExportResult export_results(const ExportRequest& req) {
  const Workspace& w = req.workspace;
  if (!w.git && (req.mode == ExportMode::branch || req.mode == ExportMode::apply))
    fail(ErrorKind::invalid_input,
         "the workspace " + w.source + " of VM '" + req.vm + "' is not a git repository",
         "give a directory for its changes: --export DIR");
  if (req.mode == ExportMode::dir) check_export_dir(req.dir);
  ReadOptions o;
  o.git = w.git;
  o.what = "the workspace disk of VM '" + req.vm + "'";
  auto disk = ext4::Editor::open(w.disk, false);
  ReadResult back = read_tree(*disk, o);
  Tree before = load_manifest(w.manifest);

  ExportResult r;
  r.skipped = back.skipped;
  fs::StagingDir scratch(req.scratch, "workspace-export");
  std::string parent = w.base;
  if (w.git && req.mode != ExportMode::check) {
    GuestCommits gc = import_guest_commits(*disk, w.source, w.head, scratch.path(), o);
    r.note = gc.note;
    if (!gc.commit.empty()) {
      parent = gc.commit;
      r.commits = gc.count;
      before = commit_tree(w.source, gc.commit);
    }
  }
  std::vector<Change> changes = diff_trees(before, back.tree, w.git);
  if (w.git) changes = drop_ignored(w.source, std::move(changes), &r.skipped);
  r.counts = count_changes(changes);
  if (changes.empty() && r.commits == 0) {
    r.kind = "none";
    return r;
  }
  ContentReader read = [&](const Change& c) { return read_content(*disk, c.path, c.after, o); };
  if (req.mode == ExportMode::check) {
    r.kind = "pending";
    return r;
  }
  if (req.mode == ExportMode::dir) {
    export_to_dir(changes, read, req.dir);
    r.kind = "dir";
    r.dir = req.dir;
    return r;
  }
  std::string top = parent;
  if (!changes.empty())
    top = commit_changes(
        w.source, parent, changes, read,
        "banger: changes in the workspace of VM " + req.vm + "\n\n" + counts_text(r.counts) + "\n",
        scratch.path());
  r.commit = top;
  if (req.mode == ExportMode::apply) {
    try {
      apply_to_worktree(w.source, w.base, top);
    } catch (const Error& e) {
      // The results are not lost: they go to the branch instead.
      set_branch(w.source, branch_name(req.vm), top);
      fail(e.kind(), e.message(),
           "the changes are on branch " + branch_name(req.vm) + " instead (" + e.hint() + ")");
    }
    r.kind = "applied";
    return r;
  }
  r.branch = branch_name(req.vm);
  set_branch(w.source, r.branch, top);
  r.kind = "branch";
  return r;
}

}  // namespace banger::workspace
