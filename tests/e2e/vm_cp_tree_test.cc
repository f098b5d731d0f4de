// End to end under TCG: `vm cp` of directories both ways through a real VM's
// agent, with docker cp's rules, and tar streams on stdin and stdout.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "host/core/archive_reader.h"
#include "host/core/fs.h"
#include "tests/support/sandbox_home.h"
#include "tests/support/tar_builder.h"

using namespace banger;
using namespace banger::test;
namespace stdfs = std::filesystem;

namespace {

// "PATH MODE TYPE [-> TARGET] MTIME" for every entry below `dir`, sorted.
std::string describe(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) {
    struct stat st {};
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    std::string line = e.path().lexically_relative(dir).string() + " " + std::to_string(st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) line += " -> " + stdfs::read_symlink(e.path()).string();
    if (!S_ISLNK(st.st_mode)) line += " " + std::to_string(st.st_mtim.tv_sec);
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void set_mtime(const std::string& path, time_t t) {
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// The entry names of a tar stream.
std::vector<std::string> tar_names(const std::string& tar) {
  ArchiveReader in(ArchiveReader::Format::tar, false);
  REQUIRE(in.open_memory(tar.data(), tar.size()));
  std::vector<std::string> names;
  archive_entry* e = nullptr;
  while (archive_read_next_header(in.get(), &e) == ARCHIVE_OK) names.emplace_back(archive_entry_pathname(e));
  return names;
}

}  // namespace

TEST_CASE("e2e vm cp: directories both ways, docker cp's rules, tar streams on stdin and stdout",
          "[e2e][vm]") {
  SandboxHome home;
  // A project: an executable, a private file, an empty dir, a symlink, old mtimes.
  const std::string proj = home.path("proj");
  fs::make_dirs(proj + "/src/empty");
  fs::write_file(proj + "/build.sh", "#!/bin/sh\necho built\n", 0755);
  fs::write_file(proj + "/src/secret", "s3cret", 0600);
  fs::write_file(proj + "/src/main.c", std::string(200000, 'c'), 0644);
  REQUIRE(::symlink("src/main.c", (proj + "/main").c_str()) == 0);
  ::chmod(proj.c_str(), 0755);
  ::chmod((proj + "/src").c_str(), 0750);
  ::chmod((proj + "/src/empty").c_str(), 0755);
  for (const char* p : {"/build.sh", "/src/secret", "/src/main.c", "/src/empty", "/src", "/main", ""})
    set_mtime(proj + p, 1600000000);
  ::umask(022);

  home.must({"vm", "create", "--name", "dev", "--net", "none"});
  home.must({"vm", "start", "dev"});

  // In: DEST missing -> created with the contents (missing parents made).
  home.must({"vm", "cp", proj, "dev:/root/a/proj"});
  CHECK(
      home.must({"vm", "exec", "dev", "--", "sh", "-c",
                 "cd /root/a/proj && find . | sort | while read f; do stat -c '%n %a %F %Y %U' \"$f\"; done; "
                 "readlink main; ./build.sh"})
          .out ==
      ". 755 directory 1600000000 root\n"
      "./build.sh 755 regular file 1600000000 root\n"
      "./main 777 symbolic link 1600000000 root\n"
      "./src 750 directory 1600000000 root\n"
      "./src/empty 755 directory 1600000000 root\n"
      "./src/main.c 644 regular file 1600000000 root\n"
      "./src/secret 600 regular file 1600000000 root\n"
      "src/main.c\nbuilt\n");
  // DEST an existing directory -> DEST/NAME; SRC/. -> the contents merged in.
  home.must({"vm", "cp", proj, "dev:/root/a/proj"});
  home.must({"vm", "exec", "dev", "--", "test", "-f", "/root/a/proj/proj/src/secret"});
  fs::write_file(proj + "/added", "added", 0644);
  home.must({"vm", "cp", proj + "/.", "dev:/root/a/proj"});
  CHECK(home.must({"vm", "exec", "dev", "--", "cat", "/root/a/proj/added"}).out == "added");
  // A file into a directory; a directory onto a file is refused.
  home.must({"vm", "cp", proj + "/build.sh", "dev:/root/"});
  home.must({"vm", "exec", "dev", "--", "test", "-x", "/root/build.sh"});
  auto onto_file = run_banger({"vm", "cp", proj, "dev:/root/build.sh"}, home.env());
  CHECK(onto_file.code == 2);
  CHECK(onto_file.err.find("error: cannot copy the directory " + proj +
                           " onto the file dev:/root/build.sh") != std::string::npos);

  // Out: the same tree comes back, modes under the umask, owned by us.
  ::unlink((proj + "/added").c_str());
  home.must({"vm", "exec", "dev", "--", "rm", "/root/a/proj/added"});
  home.must({"vm", "exec", "dev", "--", "rm", "-r", "/root/a/proj/proj"});
  const std::string back = home.path("out/back");
  home.must({"vm", "cp", "dev:/root/a/proj", back});
  CHECK(describe(back) == describe(proj));
  struct stat st {};
  REQUIRE(::stat((back + "/src/secret").c_str(), &st) == 0);
  CHECK(st.st_uid == ::getuid());
  // Into an existing directory -> DEST/NAME; a guest file onto a host file.
  home.must({"vm", "cp", "dev:/root/a/proj", home.path("out")});
  CHECK(fs::read_file(home.path("out/proj/src/secret")) == "s3cret");
  fs::write_file(home.path("out/hello"), "old");
  home.must({"vm", "exec", "dev", "--", "sh", "-c", "echo hi > /root/hello"});
  home.must({"vm", "cp", "dev:/root/hello", home.path("out/hello")});
  CHECK(fs::read_file(home.path("out/hello")) == "hi\n");
  auto missing = run_banger({"vm", "cp", "dev:/nope", home.path("out/nope")}, home.env());
  CHECK(missing.code == 3);
  CHECK(missing.err.find("error: copying dev:/nope to " + home.path("out/nope") +
                         ": /nope: No such file or directory") != std::string::npos);
  CHECK(!fs::exists(home.path("out/nope")));

  // "-": a tar stream on stdin goes into the directory, the guest's to stdout.
  TarBuilder b;
  b.dir("./").file("./from-tar/notes", "from a tar", {}).symlink("./from-tar/link", "notes");
  CliOptions in = home.env();
  in.input = b.finish();
  REQUIRE(run_banger({"vm", "cp", "-", "dev:/root/streamed"}, in).code == 0);
  CHECK(home.must({"vm", "exec", "dev", "--", "cat", "/root/streamed/from-tar/link"}).out == "from a tar");
  auto out = home.must({"vm", "cp", "dev:/root/a/proj", "-"});
  CHECK(tar_names(out.out) == std::vector<std::string>{"proj/", "proj/build.sh", "proj/main", "proj/src/",
                                                       "proj/src/empty/", "proj/src/main.c",
                                                       "proj/src/secret"});
  CHECK(tar_names(home.must({"vm", "cp", "dev:/root/streamed/.", "-"}).out) ==
        std::vector<std::string>{"./", "from-tar/", "from-tar/link", "from-tar/notes"});
  CliOptions junk = home.env();
  junk.input = "this is not a tar stream";
  auto bad = run_banger({"vm", "cp", "-", "dev:/root/streamed"}, junk);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("error: copying stdin to dev:/root/streamed: stdin is not a tar stream") !=
        std::string::npos);
  home.must({"vm", "rm", "--force", "dev"});
}
