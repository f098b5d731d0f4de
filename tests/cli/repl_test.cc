// The interactive REPL on a real pseudo-terminal, as a user types into it.
#include <catch2/catch.hpp>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>

#include "tests/support/cli.h"
#include "tests/support/temp_dir.h"

using namespace banger::test;

namespace {

// `banger repl` on a pty; `until` reads the screen up to a text.
class Terminal {
 public:
  explicit Terminal(const TempDir& t) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      setenv("BANGER_HOME", (t / "home").c_str(), 1);
      setenv("XDG_CONFIG_HOME", (t / "config").c_str(), 1);
      setenv("HOME", t.path().c_str(), 1);  // the history file's home
      std::string bin = banger_binary();
      execl(bin.c_str(), bin.c_str(), "repl", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(master_);
  }
  void type(const std::string& keys) {
    REQUIRE(write(master_, keys.data(), keys.size()) == ssize_t(keys.size()));
  }
  // Everything shown from now until `text` appears (10 s at most).
  std::string until(const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (screen_.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[4096];
        ssize_t n = read(master_, buf, sizeof buf);
        if (n <= 0) break;
        screen_.append(buf, static_cast<size_t>(n));
      }
    }
    size_t at = screen_.find(text);
    std::string seen = at == std::string::npos ? screen_ : screen_.substr(0, at + text.size());
    screen_.erase(0, seen.size());
    return seen;
  }
  // Waits (10 s at most) until libedit reads keys: it draws the prompt
  // before it leaves cooked mode, and a Ctrl-D typed in cooked mode is the
  // tty's end-of-file, which reaches libedit in raw mode as a plain NUL.
  bool reading_keys() {
    for (int i = 0; i < 100; i++) {
      termios mode{};
      if (tcgetattr(master_, &mode) == 0 && !(mode.c_lflag & ICANON)) return true;
      usleep(100000);
    }
    return false;
  }
  // The exit status once the REPL ends (-1 if it does not within 10 s).
  int wait_exit() {
    for (int i = 0; i < 100; i++) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      usleep(100000);
    }
    return -1;
  }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  std::string screen_;
};

}  // namespace

TEST_CASE("repl: the banner's suggestions work, help lists the modules, Ctrl-C cancels a line",
          "[cli][repl]") {
  TempDir t;
  Terminal term(t);
  std::string banner = term.until("banger> ");
  CHECK(banner.find("Try: image.list(), banger.recipe.list(), help. Ctrl-C cancels a line, Ctrl-D exits.") !=
        std::string::npos);
  term.type("image.list()\r");
  CHECK(term.until("banger> ").find("{}") != std::string::npos);
  term.type("help\r");
  std::string help = term.until("banger> ");
  CHECK(help.find("  image     Images: root filesystems (ext4) made from OCI images or the catalog,") !=
        std::string::npos);
  CHECK(help.find("help(image) lists a module's functions") != std::string::npos);
  term.type("help(image)\r");
  CHECK(term.until("banger> ")
            .find("  image.require(name)  The image record, or a not_found error that says how to get it.") !=
        std::string::npos);

  // An unfinished statement, then Ctrl-C: the line is dropped, the REPL stays.
  term.type("for i = 1, 3 do\r");
  term.until("...> ");
  term.type("\x03");
  term.until("banger> ");
  // Typed at once: a Ctrl-C that came while libedit drew the prompt once
  // held the next line back as the interrupted one.
  term.type("return 40 + 2\r");
  // Up to the answer, not the next prompt: libedit may draw the prompt
  // again after a Ctrl-C, and that copy is not the line's answer.
  std::string answer = term.until("42");
  CHECK(answer.find("42") != std::string::npos);
  CHECK(answer.find("error") == std::string::npos);
  term.until("banger> ");
  // Ctrl-C on an empty line too; a line after it is answered.
  term.type("\x03");
  term.until("banger> ");
  term.type("return 6 * 7\r");
  CHECK(term.until("42").find("42") != std::string::npos);
  // Ctrl-D exits cleanly. After an answer the next prompt is a new
  // readline's (a Ctrl-C's redrawn prompt could come before libedit leaves
  // raw mode and mislead reading_keys).
  term.until("banger> ");
  REQUIRE(term.reading_keys());
  term.type("\x04");
  CHECK(term.wait_exit() == 0);
}
