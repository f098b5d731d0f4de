// Stage 1: the agent as the initramfs /init. Loads the modules the initramfs
// lists, mounts the root disk, moves /dev /proc /sys into it, frees the
// initramfs, switches root (MS_MOVE + chroot) and execs the agent (or the
// image's init) inside it as PID 1.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "guest/agent.h"

namespace banger::agent {

namespace {

// Modules nothing needs before the agent reports ready: loaded after it.
bool deferrable(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  return name.find("vsock") != std::string::npos || name.find("rng") != std::string::npos;
}

}  // namespace

namespace {

// The module files (paths relative to root_fd) of `phase`, in list order
// (dependencies first).
std::vector<std::string> module_paths(int root_fd, ModulePhase phase) {
  std::string list;
  int lf = openat(root_fd, kModulesList + 1, O_RDONLY | O_CLOEXEC);
  if (lf >= 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(lf, buf, sizeof buf)) > 0 && list.size() < (1 << 20)) list.append(buf, n);
    close(lf);
  }
  std::vector<std::string> out;
  if (list.empty()) return out;
  utsname u{};
  uname(&u);
  std::string base = std::string("lib/modules/") + u.release + "/";
  for (const auto& raw : split(list, '\n')) {
    std::string line = raw;
    while (!line.empty() && isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (phase != ModulePhase::all && deferrable(line) != (phase == ModulePhase::late)) continue;
    // Relative to the initramfs root, which may no longer be "/".
    out.push_back(line[0] == '/' ? line.substr(1) : base + line);
  }
  return out;
}

// False when the kernel refused it (logged); a module already in is fine.
bool load_module(int root_fd, const std::string& path) {
  int fd = openat(root_fd, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    log("module /%s: %s", path.c_str(), strerror(errno));
    return false;
  }
  bool ok = syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST;
  if (!ok) log("loading module /%s: %s", path.c_str(), strerror(errno));
  close(fd);
  trace(path.c_str());
  return ok;
}

// Which chain a module belongs to: 0 the disk's (and the virtio core), 1
// the network's, 2 the console's (the agent channel). The chains depend on
// the core only, so after it they load side by side.
int lane(const std::string& path) {
  if (path.find("/net/") != std::string::npos) return 1;
  if (path.find("/drivers/char/") != std::string::npos) return 2;
  return 0;
}

}  // namespace

void load_modules(int root_fd, ModulePhase phase) {
  for (const auto& p : module_paths(root_fd, phase)) load_module(root_fd, p);
}

std::vector<ModuleLane> start_early_modules(int root_fd, bool network, bool mounts) {
  auto paths = module_paths(root_fd, ModulePhase::early);
  // fuse and virtiofs serve live mounts only (banger.mounts=).
  if (!mounts)
    paths.erase(std::remove_if(paths.begin(), paths.end(),
                               [](const std::string& p) { return p.find("/fs/fuse/") != std::string::npos; }),
                paths.end());
  // Everything up to the first network or console module goes first, in
  // order: the virtio core the other chains need.
  size_t i = 0;
  for (; i < paths.size() && lane(paths[i]) == 0; ++i) load_module(root_fd, paths[i]);
  std::vector<ModuleLane> lanes(2);
  std::vector<std::string> rest;
  for (; i < paths.size(); ++i) {
    int l = lane(paths[i]);
    if (l == 1 && !network) continue;  // no NIC (--net none): its driver is dead weight
    (l == 0 ? rest : lanes[l - 1].paths).push_back(paths[i]);
  }
  for (auto& l : lanes) {
    if (l.paths.empty()) continue;
    l.pid = fork();
    if (l.pid == 0) {
      for (const auto& p : l.paths)
        if (!load_module(root_fd, p)) _exit(1);
      _exit(0);
    }
  }
  for (const auto& p : rest) load_module(root_fd, p);
  return lanes;
}

void finish_modules(int root_fd, std::vector<ModuleLane>& lanes) {
  for (auto& l : lanes) {
    if (l.paths.empty()) continue;
    int status = 0;
    bool ok =
        l.pid > 0 && waitpid(l.pid, &status, 0) == l.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    // A chain that failed (a dependency this split did not foresee, no
    // fork) is loaded again in order here: slower, never wrong.
    if (!ok)
      for (const auto& p : l.paths) load_module(root_fd, p);
  }
  lanes.clear();
}

namespace {

// Waits for the block device node (devtmpfs creates it when the driver probes).
bool wait_for_device(const std::string& dev, int timeout_ms) {
  uint64_t deadline = uptime_ms() + timeout_ms;
  struct stat st {};
  while (stat(dev.c_str(), &st) != 0) {
    if (uptime_ms() > deadline) return false;
    usleep(5000);
  }
  return true;
}

// rm -rf of the initramfs: every file on the same device as `dir` (the
// initramfs is memory; the root disk is mounted on another device).
void delete_tree(int dirfd, dev_t rootdev);

}  // namespace

void free_initramfs(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  delete_tree(fd, st.st_dev);
  trace("initramfs freed");
}

namespace {

void delete_tree(int dirfd, dev_t rootdev) {
  DIR* d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return;
  }
  while (dirent* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st {};
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_dev != rootdev) continue;  // a mount point: leave it
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) delete_tree(sub, rootdev);
      unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

[[noreturn]] void die(const char* what) {
  log("%s; powering off", what);
  sync();
  reboot(RB_POWER_OFF);
  _exit(1);
}

}  // namespace

void run_stage1() {
  uint64_t start = uptime_ms();
  mkdir("/dev", 0755);
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  // Without /dev/console in the archive the kernel gave us no stdio.
  if (fcntl(2, F_GETFD) < 0) {
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
      for (int i = 0; i < 3; ++i)
        if (fd != i) dup2(fd, i);
      if (fd > 2) close(fd);
    }
  }

  Cmdline c = read_cmdline();
  g_trace = c.count(proto::kArgDebug) > 0;
  trace("stage 1 start");
  // The agent loads the deferrable modules after reporting ready, from the
  // initramfs it inherits; the image's own init inherits nothing.
  bool explicit_init = c.count(proto::kArgInit) > 0;
  // The network and console chains load while the root disk is mounted;
  // finish_modules waits for them before the agent (or init) runs.
  int here = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::vector<ModuleLane> lanes;
  if (explicit_init) load_modules(here, ModulePhase::all);
  else lanes = start_early_modules(here, c.count(proto::kArgIp) > 0, c.count(proto::kArgMounts) > 0);
  trace("disk modules loaded");

  std::string root = cmdline_get(c, "root", "/dev/vda");
  std::string fstype = cmdline_get(c, "rootfstype", "ext4");
  // Without banger.init the agent runs on as PID 1 from this initramfs's copy
  // (already in memory: no 1 MB read through the virtual disk on the boot's
  // critical path), once the image's copy at /.banger/agent shows the image
  // is prepared for banger. banger.init=PATH execs PATH from the image
  // instead: the image's own init, or banger.init=/.banger/agent to run the
  // image's agent.
  std::string init = cmdline_get(c, proto::kArgInit, proto::kAgentPath);
  int self = explicit_init ? -1 : open("/init", O_RDONLY | O_CLOEXEC);
  if (!wait_for_device(root, 10000)) {
    std::string msg =
        "root disk " + root + " did not appear (is the virtio_blk module listed in " + kModulesList + "?)";
    die(msg.c_str());
  }
  trace("root disk present");
  unsigned long flags = c.count("ro") ? MS_RDONLY : 0;
  mkdir("/newroot", 0755);
  if (mount(root.c_str(), "/newroot", fstype.c_str(), flags, nullptr) != 0) {
    std::string msg = "mounting " + root + " (" + fstype + ") on /newroot: " + strerror(errno);
    die(msg.c_str());
  }
  trace("root disk mounted");
  if (!(flags & MS_RDONLY) && fstype == "ext4") grow_root(root, "/newroot");
  // A few lines on the console say how far a boot got (`banger vm logs`).
  log("root disk %s (%s) mounted at %llu ms; switching into it", root.c_str(), fstype.c_str(),
      static_cast<unsigned long long>(uptime_ms()));
  for (const char* m : {"/dev", "/proc", "/sys"}) {
    std::string to = std::string("/newroot") + m;
    mkdir(to.c_str(), 0755);
    if (mount(m, to.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
      log("moving %s: %s", m, strerror(errno));
      umount2(m, MNT_DETACH);
    }
  }
  // The initramfs is emptied by the agent once it has reported ready (off
  // the boot's critical path): it inherits this descriptor of the old root.
  int rootfd = open("/", O_RDONLY | O_DIRECTORY);
  if (chdir("/newroot") != 0) die("chdir /newroot failed");
  if (mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) die("moving the root disk to / failed");
  if (chroot(".") != 0 || chdir("/") != 0) die("chroot into the root disk failed");

  finish_modules(here, lanes);
  close(here);
  trace("modules loaded");

  // Checked inside the new root: the image's own links (/sbin/init ->
  // /lib/systemd/systemd) resolve only there.
  if (access(init.c_str(), X_OK) != 0) {
    std::string msg =
        init + " is missing from the root filesystem (" + strerror(errno) + ")" +
        (init == proto::kAgentPath
             ? ": the image has no banger agent; pull it with banger (a pull installs the agent)"
             : "");
    die(msg.c_str());
  }
  std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                  "TERM=linux", std::string(kInitUptimeEnv) + "=" + std::to_string(start)};
  if (rootfd >= 0) {
    if (init == proto::kAgentPath) {
      env.push_back(std::string(kOldRootEnv) + "=" + std::to_string(rootfd));
    } else {
      free_initramfs(rootfd);  // the image's own init gets no descriptor it does not know
    }
  }
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(init.c_str()), nullptr};
  if (self >= 0) {
    fexecve(self, argv, envp.data());
    log("exec of the initramfs agent: %s; running the image's", strerror(errno));
  }
  execve(init.c_str(), argv, envp.data());
  std::string msg = "exec " + init + ": " + strerror(errno);
  die(msg.c_str());
}

}  // namespace banger::agent
