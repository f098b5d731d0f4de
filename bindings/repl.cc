// _host.repl: line editing for the REPL through libedit's readline API:
// readline with history, and tab completion answered by a Lua function.
#include <editline/readline.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bindings/support.h"
#include "host/core/interrupt.h"

namespace banger::lua {

namespace {

// libedit's completion callbacks carry no user data: the REPL runs in one
// Lua state, remembered here while a completer is set.
lua_State* g_state = nullptr;
int g_completer_ref = LUA_NOREF;
std::vector<std::string> g_matches;

char* next_match(const char*, int state) {
  if (static_cast<size_t>(state) >= g_matches.size()) return nullptr;
  return strdup(g_matches[state].c_str());
}

char** complete(const char* text, int, int) {
  rl_attempted_completion_over = 1;
  g_matches.clear();
  lua_State* L = g_state;
  if (!L || g_completer_ref == LUA_NOREF) return nullptr;
  lua_rawgeti(L, LUA_REGISTRYINDEX, g_completer_ref);
  lua_pushstring(L, rl_line_buffer ? rl_line_buffer : "");
  lua_pushstring(L, text);
  if (lua_pcall(L, 2, 1, 0) == 0 && lua_istable(L, -1)) {
    size_t n = lua_objlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, static_cast<int>(i));
      if (lua_isstring(L, -1)) g_matches.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (g_matches.empty()) return nullptr;
  return rl_completion_matches(text, next_match);
}

// libedit's key reader: waits for a key or Ctrl-C. libedit's own reader
// retries a read() that a signal interrupted, so a Ctrl-C could leave it
// waiting with the flag set, and the next line typed would be dropped as
// the interrupted one. Waiting on interrupt_fd() too ends the read for
// certain; -1 is end of input to libedit, and r_readline sees the flag.
int read_key(FILE* in) {
  pollfd fds[2] = {{fileno(in), POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
  for (;;) {
    if (interrupted()) return -1;
    if (poll(fds, fds[1].fd < 0 ? 1 : 2, -1) < 0 && errno != EINTR) return -1;
    if (fds[0].revents == 0) continue;
    unsigned char key;
    ssize_t n = ::read(fds[0].fd, &key, 1);
    if (n == 1) return key;
    if (n == 0 || errno != EINTR) return -1;
  }
}

// readline(prompt) -> line, nil at end of input, or false after Ctrl-C.
// Ctrl-C reaches banger's handler (libedit passes the signal on), which sets
// the interrupted flag and ends read_key: at the prompt that flag means
// "drop this line", so it is cleared and the REPL goes on.
int r_readline(lua_State* L) {
  std::string prompt = arg_string(L, 1, "prompt");
  set_interrupted(false);
  char* line = ::readline(prompt.c_str());
  if (interrupted()) {
    set_interrupted(false);
    free(line);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!line) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

int r_add_history(lua_State* L) {
  std::string line = arg_string(L, 1, "line");
  ::add_history(line.c_str());
  return 0;
}

int r_load_history(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  ::read_history(path.c_str());
  return 0;
}

int r_save_history(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  ::stifle_history(1000);
  ::write_history(path.c_str());
  return 0;
}

// set_completer(fn(line, word) -> {candidates}): fn completes `word`.
int r_set_completer(lua_State* L) {
  if (lua_type(L, 1) != LUA_TFUNCTION) fail(ErrorKind::invalid_input, "set_completer needs a function");
  if (g_completer_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, g_completer_ref);
  lua_pushvalue(L, 1);
  g_completer_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  g_state = L;
  // Word breaks: keep "." and ":" inside words so "banger.im<TAB>" completes fields.
  rl_basic_word_break_characters = const_cast<char*>(" \t\n\"'`@$><=;|&{(,[+-*/%^~#");
  rl_attempted_completion_function = complete;
  return 0;
}

const luaL_Reg kFuncs[] = {
    {"readline", wrap<r_readline>},           {"add_history", wrap<r_add_history>},
    {"load_history", wrap<r_load_history>},   {"save_history", wrap<r_save_history>},
    {"set_completer", wrap<r_set_completer>}, {nullptr, nullptr},
};

int open_repl(lua_State* L) {
  // Before anything initializes libedit (read_history does): it takes the
  // key reader once, at rl_initialize. Set later, libedit's own reader was
  // used, and a Ctrl-C that came while it drew the prompt was seen only
  // after the next line, which was then dropped as the interrupted one.
  rl_getc_function = read_key;
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(repl, open_repl);

}  // namespace banger::lua
