#include "host/supervisor/tree_copy.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <exception>
#include <memory>

#include "host/copy/copy_rules.h"
#include "host/copy/disk_tree.h"
#include "host/copy/tar_in.h"
#include "host/copy/tar_out.h"
#include "host/copy/walk.h"
#include "host/core/archive_reader.h"
#include "host/core/error.h"
#include "host/supervisor/exec_pipe.h"
#include "proto/boot.h"

namespace banger::supervisor {

namespace {

using copy::PathKind;

constexpr size_t kMaxTrailing = 1 << 20;  // stdout a tool may send past the tar's end

std::string misbehaves(const std::string& vm) {
  return "the guest's agent misbehaves: check what runs in the VM ('banger vm logs " + vm + "')";
}

// The first line of what a tool said, printable only: the guest wrote it.
std::string guest_text(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, s.find('\n'))) {
    if (out.size() >= 300) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out.empty() ? "no message" : out;
}

[[noreturn]] void fail_tool(const ExecPipe& p, const std::string& what, const std::string& vm) {
  const vm::ExecStatus& s = *p.status();
  std::string said = guest_text(p.stderr_text());
  if (s.exit_code == 2) fail(ErrorKind::not_found, what + ": " + said, "check the path in VM '" + vm + "'");
  fail(ErrorKind::io, what + ": " + said + " (exit " + std::to_string(s.exit_code) + ")",
       s.exit_code == 127 ? "the image's agent is older than this banger: recreate the VM" : misbehaves(vm));
}

// libarchive pulls the guest's stdout through this; an exception waits here
// instead of unwinding through C.
struct PipeReader {
  ExecPipe* pipe;
  char buf[64 * 1024];
  std::exception_ptr error;
  static la_ssize_t read(archive*, void* self, const void** out) {
    auto* r = static_cast<PipeReader*>(self);
    try {
      *out = r->buf;
      return static_cast<la_ssize_t>(r->pipe->read(r->buf, sizeof r->buf));
    } catch (...) {
      r->error = std::current_exception();
      return ARCHIVE_FATAL;
    }
  }
};

PathKind local_kind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PathKind::missing;
  return S_ISDIR(st.st_mode) ? PathKind::dir : PathKind::other;
}

PathKind guest_kind(Client& c, const std::string& path, const std::string& what) {
  ExecPipe p(c, {{proto::kAgentPath, proto::kToolStat, path}}, false);
  std::string out;
  char buf[64];
  while (size_t n = p.read(buf, sizeof buf)) {
    if (out.size() < 64) out.append(buf, n);
  }
  p.wait(0, what);
  if (p.status()->exit_code != 0) fail_tool(p, what, c.vm_name());
  if (out == "dir\n") return PathKind::dir;
  if (out == "other\n") return PathKind::other;
  if (out == "missing\n") return PathKind::missing;
  fail(ErrorKind::io, what + ": VM '" + c.vm_name() + "' answered '" + guest_text(out) + "' to a stat",
       misbehaves(c.vm_name()));
}

// What a tool that succeeded said on stderr (entries it skipped), one
// warning a line, printable only.
void warn_tool(const ExecPipe& p, const std::string& vm) {
  const std::string& text = p.stderr_text();
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = std::min(text.find('\n', pos), text.size());
    if (nl > pos) spdlog::warn("VM '{}': {}", vm, guest_text(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
}

void write_stdout(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(1, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("writing the tar stream to stdout");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void copy_out(Client& c, const std::string& guest_src, const std::string& local_dest) {
  const std::string& vm = c.vm_name();
  const std::string src_shown = vm + ":" + guest_src;
  const std::string what = "copying " + src_shown + " to " + (local_dest == "-" ? "stdout" : local_dest);
  const copy::CopyPath src = copy::parse_copy_path(guest_src), dest = copy::parse_copy_path(local_dest);

  std::unique_ptr<copy::TreeSink> sink;
  if (local_dest == "-") {
    copy::TarNaming naming;
    naming.root = src.contents ? "." : src.base;
    naming.mode_mask = 0777;
    naming.uid = ::getuid(), naming.gid = ::getgid();
    sink = std::make_unique<copy::TarOut>(write_stdout, naming);
  } else {
    auto place = [&](bool is_dir) {
      return copy::copy_target(src, is_dir, dest, local_kind(local_dest), src_shown, local_dest);
    };
    sink = std::make_unique<copy::DiskTree>(place, what, "VM '" + vm + "'", misbehaves(vm));
  }

  ExecPipe pipe(c, {{proto::kAgentPath, proto::kToolTarCreate, guest_src}}, false);
  ArchiveReader in(ArchiveReader::Format::tar, false);
  PipeReader reader{&pipe, {}, nullptr};
  const bool opened = in.open_callback(&reader, &PipeReader::read);
  if (reader.error) std::rethrow_exception(reader.error);
  if (!opened) {
    pipe.wait(kMaxTrailing, what);
    if (pipe.status()->exit_code != 0) fail_tool(pipe, what, vm);
    fail(ErrorKind::io,
         what + ": VM '" + vm + "' sent a bad tar stream: " + in.error() + "; nothing was written",
         misbehaves(vm));
  }
  try {
    copy::read_tar(in, *sink, {what, "VM '" + vm + "'", misbehaves(vm), true});
  } catch (const Error&) {
    if (reader.error) std::rethrow_exception(reader.error);
    // A tool that failed says why better than the stream it cut short.
    if (pipe.exited() && pipe.status()->exit_code != 0) fail_tool(pipe, what, vm);
    throw;
  }
  if (reader.error) std::rethrow_exception(reader.error);
  pipe.wait(kMaxTrailing, what);
  if (pipe.status()->exit_code != 0) fail_tool(pipe, what, vm);
  sink->finish();
  warn_tool(pipe, vm);
}

void copy_in(Client& c, const std::string& local_src, const std::string& guest_dest) {
  const std::string& vm = c.vm_name();
  const std::string dest_shown = vm + ":" + guest_dest;
  const bool from_stdin = local_src == "-";
  const std::string what = "copying " + (from_stdin ? std::string("stdin") : local_src) + " to " + dest_shown;
  const copy::CopyPath dest = copy::parse_copy_path(guest_dest);
  const copy::CopyPath src = copy::parse_copy_path(from_stdin ? "./" : local_src);

  bool src_is_dir = true;
  if (!from_stdin) {
    struct stat st {};
    if ((src.dir_syntax ? ::stat(local_src.c_str(), &st) : ::lstat(local_src.c_str(), &st)) != 0) {
      if (errno == ENOENT)
        fail(ErrorKind::not_found, what + ": no such file or directory: " + local_src,
             "check the path; vm cp copies files and directories (- reads a tar stream from stdin)");
      fail_errno(what + ": " + local_src);
    }
    src_is_dir = S_ISDIR(st.st_mode);
  }
  const PathKind dest_kind = guest_kind(c, guest_dest, what);
  std::string target;
  if (from_stdin) {
    if (dest_kind == PathKind::other)
      fail(
          ErrorKind::invalid_input, what + ": " + dest_shown + " is not a directory",
          "a tar stream on stdin is extracted into a directory: name one, or a path that does not exist yet");
    target = guest_dest;
  } else {
    target = copy::copy_target(src, src_is_dir, dest, dest_kind, local_src, dest_shown);
  }

  ExecPipe pipe(c, {{proto::kAgentPath, proto::kToolTarExtract, target}}, true);
  bool cut = false;  // the tool exited early: its status says why
  copy::TarOut out([&](std::string_view d) { cut = cut || !pipe.write(d); }, copy::TarNaming{});
  if (from_stdin) {
    ArchiveReader in(ArchiveReader::Format::tar, true);
    if (!in.open_fd(0))
      fail(ErrorKind::invalid_input, what + ": stdin is not a tar stream: " + in.error(),
           "pipe a tar archive in, e.g. 'tar c . | banger vm cp - " + dest_shown + "'");
    copy::read_tar(in, out,
                   {what, "the tar stream on stdin",
                    "pipe a tar archive in, e.g. 'tar c . | banger vm cp - " + dest_shown + "'", false});
  } else {
    copy::walk_tree(local_src, src.dir_syntax, out);
  }
  if (!cut) out.finish();
  pipe.wait(kMaxTrailing, what);
  if (pipe.status()->exit_code != 0) fail_tool(pipe, what, vm);
  warn_tool(pipe, vm);
}

}  // namespace banger::supervisor
