// SSH into tap-mode VMs: one key pair per installation, authorised in each VM
// at create, and a generated ssh config include with one `Host NAME.vm` block
// per VM, so `ssh NAME.vm` works once the user includes it.
#pragma once

#include <string>
#include <vector>

namespace banger::net {

struct KeyPair {
  std::string private_key;      // path: DIR/id_ed25519
  std::string public_key;       // path: DIR/id_ed25519.pub
  std::string public_key_text;  // one authorized_keys line, no newline
};

// $BANGER_HOME/ssh
std::string ssh_dir();

// The installation's key pair in `dir`, generated once (ssh-keygen -t ed25519
// -N '' -q) under a lock; later calls read it back.
KeyPair ensure_keypair(const std::string& dir);

struct SshHost {
  std::string name;     // VM name: the block is `Host NAME.vm`
  std::string address;  // its tap address
};

// The config text for `hosts` (sorted by name), using `identity` as IdentityFile.
std::string ssh_config_text(const std::vector<SshHost>& hosts, const std::string& identity,
                            const std::string& config_path);
// Writes DIR/config atomically (0600) and returns its path.
std::string write_ssh_config(const std::string& dir, const std::vector<SshHost>& hosts);
// The line a user adds at the top of ~/.ssh/config: "Include DIR/config".
std::string include_line(const std::string& dir);
// Whether `ssh_config_text` (a ~/.ssh/config) already has that Include.
bool has_include(const std::string& ssh_config_text, const std::string& dir);

}  // namespace banger::net
