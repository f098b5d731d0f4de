// _host.ext4: build an image from layers, open an image to read or edit it.
//
//   _host.ext4.build(layers, path, opts) -> stats
//     layers: {{path=, fd=?, compression="gzip"|"zstd"|"none"|nil, digest=}, ...}
//     opts: {size=, journal=, label=, uuid="32 hex", timestamp=, sync=, progress=bool}
//   _host.ext4.open(path, {write=bool}) -> handle with ls/stat/exists/read/write/
//     mkdir/symlink/chmod/chown/rm/close
#include <cstdio>

#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/ext4/editor.h"
#include "host/layers/build.h"

namespace banger::lua {

namespace {

constexpr const char* kImageType = "banger.ext4.image";

layers::Compression compression_of(const std::string& s) {
  if (s.empty() || s == "detect") return layers::Compression::detect;
  if (s == "none") return layers::Compression::none;
  if (s == "gzip") return layers::Compression::gzip;
  if (s == "zstd") return layers::Compression::zstd;
  fail(ErrorKind::invalid_input, "layer compression '" + s + "' is not gzip, zstd or none");
}

std::string str_or(const nlohmann::json& j, const char* key, std::string fallback = {}) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) fail(ErrorKind::invalid_input, std::string(key) + " must be a string");
  return j[key].get<std::string>();
}

std::array<uint8_t, 16> parse_uuid(const std::string& s) {
  std::string hex;
  for (char c : s) {
    if (c != '-') hex += c;
  }
  std::array<uint8_t, 16> out{};
  if (hex.size() != 32) fail(ErrorKind::invalid_input, "uuid '" + s + "' is not 32 hex digits");
  for (int i = 0; i < 16; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) {
      fail(ErrorKind::invalid_input, "uuid '" + s + "' is not 32 hex digits");
    }
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

int ext4_build(lua_State* L) {
  nlohmann::json jl = arg_table(L, 1, "layers");
  std::string path = arg_string(L, 2, "path");
  nlohmann::json opts = arg_table(L, 3, "opts");
  std::vector<layers::Layer> ls;
  if (!jl.is_array() && !(jl.is_object() && jl.empty())) {
    fail(ErrorKind::invalid_input, "ext4.build: layers must be a list of {path=, compression=, digest=}");
  }
  if (path.empty()) fail(ErrorKind::invalid_input, "ext4.build: path must be a file path");
  for (auto& j : jl) {
    layers::Layer l;
    if (j.is_object()) {
      l.path = str_or(j, "path");
      if (j.contains("fd") && j["fd"].is_number_integer()) l.fd = j["fd"].get<int>();
    }
    if (l.path.empty() && l.fd < 0)
      fail(ErrorKind::invalid_input,
           "ext4.build: layer " + std::to_string(ls.size() + 1) + " has neither path nor fd");
    l.compression = compression_of(str_or(j, "compression"));
    l.digest = str_or(j, "digest");
    l.diff_id = str_or(j, "diff_id");
    ls.push_back(std::move(l));
  }
  layers::BuildOptions o;
  if (opts.contains("size") && !opts["size"].is_null()) {
    if (!opts["size"].is_number() || opts["size"].get<double>() <= 0) {
      fail(ErrorKind::invalid_input, "ext4.build: size must be a positive number of bytes");
    }
    o.size = opts["size"].get<uint64_t>();
  }
  if (opts.contains("journal")) o.journal = opts["journal"].get<bool>();
  if (opts.contains("sync")) o.sync = opts["sync"].get<bool>();
  o.label = str_or(opts, "label");
  if (opts.contains("uuid")) o.uuid = parse_uuid(str_or(opts, "uuid"));
  if (opts.contains("timestamp") && opts["timestamp"].is_number()) {
    o.timestamp = opts["timestamp"].get<int64_t>();
  }
  bool bars = !opts.contains("progress") || !opts["progress"].is_boolean() || opts["progress"].get<bool>();
  if (bars) o.progress = layers::layer_apply_bars(ls);
  layers::BuildStats s = layers::build_image(ls, path, o);
  push_json(L, {{"path", path},
                {"image_bytes", s.fs.image_size},
                {"content_bytes", s.fs.content_bytes},
                {"data_bytes", s.fs.data_bytes},
                {"entries", s.fs.entries},
                {"files", s.fs.files},
                {"dirs", s.fs.dirs},
                {"symlinks", s.fs.symlinks},
                {"hardlinks", s.fs.hardlinks},
                {"others", s.fs.others},
                {"removed", s.fs.removed},
                {"layers", s.layers},
                {"compressed_bytes", s.compressed_bytes},
                {"seconds", s.seconds}});
  return 1;
}

int ext4_open(lua_State* L) {
  std::string path = arg_string(L, 1, "path");
  if (path.empty()) fail(ErrorKind::invalid_input, "ext4.open: path must be a file path");
  nlohmann::json opts = arg_table(L, 2, "opts");
  bool write = opts.contains("write") && opts["write"].is_boolean() && opts["write"].get<bool>();
  std::shared_ptr<ext4::Editor> img = ext4::Editor::open(path, write);
  push_handle(L, std::move(img), kImageType);
  return 1;
}

std::shared_ptr<ext4::Editor> self(lua_State* L) { return arg_handle<ext4::Editor>(L, 1, kImageType); }

void set_field(lua_State* L, const char* k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}
void set_field(lua_State* L, const char* k, const std::string& v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, k);
}
lua_Number seconds(const ext4::Timespec& t) { return static_cast<lua_Number>(t.sec) + t.nsec / 1e9; }

int img_ls(lua_State* L) {
  auto img = self(L);
  std::string dir = opt_string(L, 2, "dir").value_or("/");
  auto entries = img->ls(dir);
  lua_createtable(L, static_cast<int>(entries.size()), 0);
  int i = 0;
  for (auto& e : entries) {
    lua_createtable(L, 0, 3);
    set_field(L, "name", e.name);
    set_field(L, "type", std::string(ext4::type_name(e.type)));
    set_field(L, "ino", e.ino);
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

int img_stat(lua_State* L) {
  auto img = self(L);
  ext4::Stat s = img->stat(arg_string(L, 2, "path"));
  lua_createtable(L, 0, 16);
  set_field(L, "type", std::string(ext4::type_name(s.type)));
  set_field(L, "mode", s.mode);
  set_field(L, "uid", s.uid);
  set_field(L, "gid", s.gid);
  set_field(L, "size", static_cast<lua_Number>(s.size));
  set_field(L, "nlink", s.nlink);
  set_field(L, "ino", s.ino);
  set_field(L, "mtime", seconds(s.mtime));
  set_field(L, "atime", seconds(s.atime));
  set_field(L, "ctime", seconds(s.ctime));
  if (s.type == ext4::FileType::symlink) set_field(L, "target", s.target);
  if (s.type == ext4::FileType::char_device || s.type == ext4::FileType::block_device) {
    set_field(L, "dev_major", s.dev_major);
    set_field(L, "dev_minor", s.dev_minor);
  }
  lua_createtable(L, 0, static_cast<int>(s.xattrs.size()));
  for (auto& x : s.xattrs) set_field(L, x.name.c_str(), x.value);
  lua_setfield(L, -2, "xattrs");
  return 1;
}

int img_exists(lua_State* L) {
  auto img = self(L);
  lua_pushboolean(L, img->exists(arg_string(L, 2, "path")));
  return 1;
}

int img_read(lua_State* L) {
  auto img = self(L);
  std::string data = img->read(arg_string(L, 2, "path"));
  lua_pushlstring(L, data.data(), data.size());
  return 1;
}

ext4::Owner owner_of(const nlohmann::json& o) {
  ext4::Owner w;
  if (o.contains("uid")) w.uid = o["uid"].get<uint32_t>();
  if (o.contains("gid")) w.gid = o["gid"].get<uint32_t>();
  return w;
}

uint32_t mode_of(const nlohmann::json& o, uint32_t fallback) {
  if (!o.contains("mode")) return fallback;
  if (!o["mode"].is_number_integer())
    fail(ErrorKind::invalid_input, "mode must be an integer (e.g. tonumber('755', 8))");
  return o["mode"].get<uint32_t>();
}

// write(path, data, {mode=, uid=, gid=})
int img_write(lua_State* L) {
  auto img = self(L);
  std::string path = arg_string(L, 2, "path");
  std::string data = arg_string(L, 3, "data");
  nlohmann::json o = arg_table(L, 4, "opts");
  img->write(path, data, mode_of(o, 0644), owner_of(o));
  return 0;
}

// mkdir(path, {mode=, uid=, gid=, parents=})
int img_mkdir(lua_State* L) {
  auto img = self(L);
  std::string path = arg_string(L, 2, "path");
  nlohmann::json o = arg_table(L, 3, "opts");
  bool parents = o.contains("parents") && o["parents"].is_boolean() && o["parents"].get<bool>();
  img->mkdir(path, mode_of(o, 0755), owner_of(o), parents);
  return 0;
}

// symlink(path, target, {uid=, gid=})
int img_symlink(lua_State* L) {
  auto img = self(L);
  std::string path = arg_string(L, 2, "path");
  std::string target = arg_string(L, 3, "target");
  img->symlink(path, target, owner_of(arg_table(L, 4, "opts")));
  return 0;
}

int img_chmod(lua_State* L) {
  auto img = self(L);
  std::string path = arg_string(L, 2, "path");
  img->chmod(path, static_cast<uint32_t>(arg_integer(L, 3, "mode")));
  return 0;
}

int img_chown(lua_State* L) {
  auto img = self(L);
  std::string path = arg_string(L, 2, "path");
  ext4::Owner o{static_cast<uint32_t>(arg_integer(L, 3, "uid")),
                static_cast<uint32_t>(arg_integer(L, 4, "gid"))};
  img->chown(path, o);
  return 0;
}

// rm(path, {recursive=})
int img_rm(lua_State* L) {
  auto img = self(L);
  std::string path = arg_string(L, 2, "path");
  nlohmann::json o = arg_table(L, 3, "opts");
  img->rm(path, o.contains("recursive") && o["recursive"].is_boolean() && o["recursive"].get<bool>());
  return 0;
}

// close(): writes back and closes; idempotent.
int img_close(lua_State* L) {
  auto* h = static_cast<Handle<ext4::Editor>*>(check_udata(L, 1, kImageType));
  if (!h->ptr) return 0;
  std::shared_ptr<ext4::Editor> img = std::move(h->ptr);
  h->ptr.reset();
  img->close();
  return 0;
}

int img_tostring(lua_State* L) {
  auto* h = static_cast<Handle<ext4::Editor>*>(lua_touserdata(L, 1));
  std::string s = h && h->ptr ? "ext4 image " + h->ptr->path() : "ext4 image (closed)";
  lua_pushlstring(L, s.data(), s.size());
  return 1;
}

const luaL_Reg kImageMethods[] = {
    {"ls", wrap<img_ls>},           {"stat", wrap<img_stat>},   {"exists", wrap<img_exists>},
    {"read", wrap<img_read>},       {"write", wrap<img_write>}, {"mkdir", wrap<img_mkdir>},
    {"symlink", wrap<img_symlink>}, {"chmod", wrap<img_chmod>}, {"chown", wrap<img_chown>},
    {"rm", wrap<img_rm>},           {"close", wrap<img_close>}, {nullptr, nullptr},
};

const luaL_Reg kFuncs[] = {
    {"build", wrap<ext4_build>},
    {"open", wrap<ext4_open>},
    {nullptr, nullptr},
};

int open_ext4(lua_State* L) {
  define_handle<ext4::Editor>(L, kImageType, kImageMethods, img_tostring);
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(ext4, open_ext4);

}  // namespace banger::lua
