// A guest's tar stream written to a host directory (tar_in + disk_tree): what
// lands, and that no hostile stream writes outside the destination or leaves
// anything behind.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "host/copy/copy_rules.h"
#include "host/copy/disk_tree.h"
#include "host/copy/tar_in.h"
#include "host/copy/tar_out.h"
#include "host/copy/walk.h"
#include "host/core/fs.h"
#include "tests/support/error_text.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_dir.h"

using namespace banger;
using namespace banger::copy;
using banger::test::error_message;
using banger::test::TarAttrs;
using banger::test::TarBuilder;
using banger::test::TempDir;
namespace stdfs = std::filesystem;

namespace {

constexpr const char* kWhat = "copying evil:/x to out";

// Extracts `tar` as `vm cp evil:/x DEST` would (docker cp's rules for DEST).
void extract(const std::string& tar, const std::string& dest, uint64_t max_entries = kMaxTreeEntries) {
  ArchiveReader in(ArchiveReader::Format::tar, false);
  REQUIRE(in.open_memory(tar.data(), tar.size()));
  const CopyPath src = parse_copy_path("/x"), d = parse_copy_path(dest);
  DiskTree sink(
      [&](bool is_dir) {
        PathKind k = stdfs::is_directory(dest) ? PathKind::dir
                     : stdfs::exists(dest)     ? PathKind::other
                                               : PathKind::missing;
        return copy_target(src, is_dir, d, k, "evil:/x", dest);
      },
      kWhat, "VM 'evil'", "hint");
  TarSource ts{kWhat, "VM 'evil'", "hint", true, max_entries};
  read_tar(in, sink, ts);
  sink.finish();
}

// Every path below `dir`, sorted, one a line.
std::string listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : stdfs::recursive_directory_iterator(dir))
    names.push_back(e.path().lexically_relative(dir).string());
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + "\n";
  return out;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

// A raw ustar header, for what libarchive's writer will not make (a size
// the data does not have).
std::string raw_header(const std::string& name, char type, uint64_t size) {
  std::string h(512, '\0');
  name.copy(h.data(), std::min<size_t>(name.size(), 99));
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 108, 8, "%07o", 0);
  std::snprintf(h.data() + 116, 8, "%07o", 0);
  if (size < (1ull << 33)) {
    std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  } else {  // base-256
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  std::snprintf(h.data() + 136, 12, "%011o", 1700000000);
  h.replace(148, 8, 8, ' ');
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h.data() + 148, 7, "%06o", sum);
  h[155] = ' ';
  return h;
}

}  // namespace

TEST_CASE("tree copy: a guest's tree lands with its modes under the umask, symlinks, empty dirs and mtimes",
          "[copy]") {
  TempDir t;
  TarBuilder b;
  TarAttrs suid;
  suid.mode = 06755;
  TarAttrs old;
  old.mode = 0600;
  old.mtime = 1600000000;
  b.dir(".").file("run", "#!/bin/sh\n", suid).dir("empty").symlink("link", "/etc/passwd").dir("sub");
  b.file("sub/notes", "notes", old);
  mode_t saved = ::umask(022);
  extract(b.finish(), t / "out");
  ::umask(saved);
  CHECK(listing(t / "out") == "empty\nlink\nrun\nsub\nsub/notes\n");
  CHECK((mode_of(t / "out/run") & 07777) == 0755);  // no setuid, setgid
  CHECK((mode_of(t / "out/sub/notes") & 07777) == 0600);
  CHECK(S_ISLNK(mode_of(t / "out/link")));
  CHECK(stdfs::read_symlink(t / "out/link") == "/etc/passwd");
  CHECK(fs::read_file(t / "out/sub/notes") == "notes");
  struct stat st {};
  REQUIRE(::stat((t / "out/sub/notes").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1600000000);
  REQUIRE(::stat((t / "out/empty").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1700000000);
  CHECK(st.st_uid == ::getuid());

  // Into an existing directory it lands as DEST/NAME; missing parents are made.
  fs::make_dirs(t / "into");
  extract(b.finish(), t / "into");
  CHECK(fs::read_file(t / "into/x/sub/notes") == "notes");
  extract(b.finish(), t / "deep/er/out");
  CHECK(fs::read_file(t / "deep/er/out/run") == "#!/bin/sh\n");
  CHECK(listing(t.path()).find(".banger-cp") == std::string::npos);
}

TEST_CASE("tree copy: a hostile stream writes nothing outside the destination and leaves nothing", "[copy]") {
  TempDir t;
  fs::make_dirs(t / "box");
  fs::write_file(t / "box/victim", "precious");
  const std::string dest = t / "box/out";
  auto refused = [&](const std::string& tar, uint64_t max_entries = kMaxTreeEntries) {
    std::string msg = error_message([&] { extract(tar, dest, max_entries); });
    // Nothing outside DEST changed, nothing of DEST or its staging is left.
    CHECK(listing(t.path()) == "box\nbox/victim\n");
    CHECK(fs::read_file(t / "box/victim") == "precious");
    return msg;
  };
  const std::string bad = std::string(kWhat) + ": VM 'evil' sent a bad tar stream: ";
  const std::string tail = "; nothing was written";
  {
    TarBuilder b;
    b.dir(".").file("../victim", "pwned");
    CHECK(refused(b.finish()) == bad + "\"../victim\": path leaves the copied directory" + tail);
  }
  {
    TarBuilder b;
    b.dir(".").file(t / "box/victim", "pwned");
    CHECK(refused(b.finish()) == bad + "\"" + t / "box/victim" + "\": absolute path" + tail);
  }
  {
    TarBuilder b;  // a symlink, then a file through it
    b.dir(".").symlink("up", "..").file("up/victim", "pwned");
    CHECK(refused(b.finish()) ==
          bad + "\"up/victim\" is below the symlink \"up\", which a copy never follows" + tail);
  }
  {
    TarBuilder b;
    b.dir(".").symlink("abs", t / "box").file("abs/victim", "pwned");
    CHECK(refused(b.finish()) ==
          bad + "\"abs/victim\" is below the symlink \"abs\", which a copy never follows" + tail);
  }
  {
    TarBuilder b;
    b.dir(".").file("f", "x").file("f/g", "y");
    CHECK(refused(b.finish()) == bad + "\"f/g\" is below \"f\", which is not a directory" + tail);
  }
  {
    TarBuilder b;  // a second entry replacing what the first made
    b.dir(".").symlink("same", "/etc/passwd").file("same", "pwned");
    CHECK(refused(b.finish()) == bad + "\"same\" comes twice" + tail);
  }
  {
    TarBuilder b;
    b.file("victim", "pwned");
    CHECK(refused(b.finish()) == bad + "it does not start with its root entry \".\"" + tail);
  }
  {
    TarBuilder b;
    b.dir(".").dir("./");
    CHECK(refused(b.finish()) == bad + "the root entry \".\" comes twice" + tail);
  }
  {
    TarBuilder b;
    b.dir(".").device("null", false, 1, 3);
    CHECK(refused(b.finish()) ==
          bad + "\"null\" is a device, fifo or socket (vm cp copies files, directories and symlinks)" + tail);
  }
  {
    TarBuilder b;
    b.dir(".").file("a", "x").hardlink("b", "a");
    CHECK(refused(b.finish()) ==
          bad + "\"b\" is a hard link (vm cp copies files, directories and symlinks)" + tail);
  }
  {
    TarBuilder b;  // more entries than allowed
    b.dir(".");
    for (int i = 0; i < 11; ++i) b.file("f" + std::to_string(i), "");
    CHECK(refused(b.finish(), 10) == bad + "more than 10 entries" + tail);
  }
  {
    // Announces 2^62 bytes: refused against the free space before anything is made.
    std::string tar = raw_header(".", '5', 0) + raw_header("huge", '0', 1ull << 62);
    std::string msg = refused(tar);
    CHECK(msg.rfind(std::string(kWhat) + ": \"huge\" is 4611686018427387904 bytes, and only ", 0) == 0);
  }
  {
    // Announces 1000 bytes, sends 10 and ends.
    std::string tar = raw_header(".", '5', 0) + raw_header("short", '0', 1000) + std::string(10, 'x');
    CHECK(refused(tar).rfind(bad + "\"short\": ", 0) == 0);
  }
  {
    // Announces 10 bytes, then sends 2 MiB where the next header should be.
    std::string tar = raw_header(".", '5', 0) + raw_header("more", '0', 10) + std::string(2 << 20, 'x');
    CHECK(refused(tar).rfind(bad, 0) == 0);
  }
  {
    TarBuilder b;  // cut short in the middle of a file
    b.dir(".").file("big", std::string(100000, 'y'));
    std::string tar = b.finish();
    CHECK(refused(tar.substr(0, 50000)).rfind(bad + "\"big\": ", 0) == 0);
  }
}

TEST_CASE("tree copy: merging into a directory checks every conflict before anything moves", "[copy]") {
  TempDir t;
  fs::make_dirs(t / "dest/keep");
  fs::write_file(t / "dest/keep/old", "old");
  fs::write_file(t / "dest/file", "file");
  TarBuilder b;  // "x/." semantics: the contents of the root go into dest
  b.dir(".").dir("keep").file("keep/new", "new").file("keep/old", "replaced").dir("file").file("top", "top");
  ArchiveReader in(ArchiveReader::Format::tar, false);
  std::string tar = b.finish();
  REQUIRE(in.open_memory(tar.data(), tar.size()));
  {
    DiskTree sink([&](bool) { return t / "dest"; }, kWhat, "VM 'evil'", "hint");
    read_tar(in, sink, {kWhat, "VM 'evil'", "hint", true});
    CHECK(error_message([&] { sink.finish(); }) ==
          std::string(kWhat) + ": cannot overwrite non-directory " + t / "dest/file" + " with directory");
  }
  CHECK(listing(t / "dest") == "file\nkeep\nkeep/old\n");
  CHECK(fs::read_file(t / "dest/keep/old") == "old");
  CHECK(listing(t.path()).find(".banger-cp") == std::string::npos);

  TarBuilder ok;
  ok.dir(".").dir("keep").file("keep/new", "new").file("keep/old", "replaced").file("top", "top");
  tar = ok.finish();
  ArchiveReader in2(ArchiveReader::Format::tar, false);
  REQUIRE(in2.open_memory(tar.data(), tar.size()));
  DiskTree sink([&](bool) { return t / "dest"; }, kWhat, "VM 'evil'", "hint");
  read_tar(in2, sink, {kWhat, "VM 'evil'", "hint", true});
  sink.finish();
  CHECK(listing(t / "dest") == "file\nkeep\nkeep/new\nkeep/old\ntop\n");
  CHECK(fs::read_file(t / "dest/keep/old") == "replaced");
}

TEST_CASE("tree copy: a host tree walked into a tar stream reads back the same", "[copy]") {
  TempDir t;
  fs::make_dirs(t / "src/empty");
  fs::make_dirs(t / "src/sub");
  fs::write_file(t / "src/sub/a", "a", 0640);
  fs::write_file(t / "src/run", "run", 0755);
  REQUIRE(::symlink("sub/a", (t / "src/link").c_str()) == 0);
  std::string tar;
  TarOut out([&](std::string_view d) { tar.append(d); }, TarNaming{});
  walk_tree(t / "src", false, out);
  out.finish();
  extract(tar, t / "copy");
  CHECK(listing(t / "copy") == listing(t / "src"));
  CHECK((mode_of(t / "copy/sub/a") & 0777) == (0640 & ~fs::current_umask()));
  CHECK(stdfs::read_symlink(t / "copy/link") == "sub/a");
  CHECK(error_message([&] { walk_tree(t / "nope", false, out); }) ==
        "no such file or directory: " + t / "nope");
}
