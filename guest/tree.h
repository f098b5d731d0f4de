// The agent's tree tools (proto/boot.h kToolStat, kToolTarCreate,
// kToolTarExtract): `vm cp` of directories runs them as ordinary commands, so
// a tree travels as a tar stream on an exec's stdout (out of the guest) or
// stdin (into it), with the exec's flow control. The host owns the rules of
// where a copy lands; these only read or write what they are told.
#pragma once

namespace banger::agent {

// Each returns the process's exit status: 0, or 1 after a message on stderr.
int tool_stat(const char* path);
int tool_tar_create(const char* path);
int tool_tar_extract(const char* target);

}  // namespace banger::agent
