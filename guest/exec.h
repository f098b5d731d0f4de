// Starting a requested command: user, cwd, environment, pipes or a pty.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "proto/flow.h"
#include "proto/messages.h"

namespace banger::agent {

struct Job {
  uint32_t id = 0;
  pid_t pid = -1;
  int out_fd = -1;  // stdout pipe, or the pty master
  int err_fd = -1;  // stderr pipe (-1 with a tty)
  int in_fd = -1;   // stdin pipe, or a dup of the pty master (-1: /dev/null)
  bool tty = false;
  std::string in_buf;              // stdin bytes not yet written
  bool in_eof = false;             // close stdin once in_buf is written
  proto::SendWindow out_window;    // stdout + stderr bytes the host allows
  proto::ReceiveWindow in_window;  // stdin bytes written, to grant back
  bool reaped = false;
  int status = 0;
  uint64_t start_us = 0;
  uint64_t end_us = 0;
  // After the reap: since when the pipes stayed open with room to read
  // them, and how many chunks a forced drain has taken (server.cc).
  uint64_t idle_from_us = 0;
  bool draining = false;
  int drain_reads = 0;
};

// Forks and execs `req` (the child reports a missing command as exit 127,
// printing why on its stderr). Returns false with `error` set when nothing
// could be started (pipes, fork).
bool start_job(const proto::Exec& req, Job& job, std::string& error);

}  // namespace banger::agent
