// _host.kernel: kernel packages, the checked kernel triple and the initramfs.
//
//   _host.kernel.pull(name, entry, dest_dir) -> manifest
//       entry: a catalog entry ({source="apt", package=} | {source="url", url=,
//       sha256=} | {source="local", kernel=, initrd=, modules=}); dest_dir: a
//       staging directory the caller publishes
//   _host.kernel.import(name, {kernel=, initrd=, modules=}, dest_dir) -> manifest
//   _host.kernel.manifest(dir) -> manifest
//   _host.kernel.resolve({name=, dir=, kernel=, initrd=, modules=}) -> triple
//       {kernel=, initrd=, modules=, version=, banner=} (absolute paths)
//   _host.kernel.inspect(path) -> {version=, banner=, protocol=}
//   _host.kernel.modules(modules_dir, {names}, {optional names}) -> {{name=, path=}, ...}
//   _host.kernel.build_initramfs({init=, modules_dir=, version=, out=,
//       compression=, modules=, optional_modules=, mtime=}) -> {path=, bytes=,
//       content_bytes=, version=, modules={{name=, path=}, ...}}
//   _host.kernel.tcg_boot_args() -> {"tsc_early_khz=..."}
#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/kernel/boot_args.h"
#include "host/kernel/bzimage.h"
#include "host/kernel/initramfs.h"
#include "host/kernel/modinfo.h"
#include "host/kernel/pull.h"
#include "host/kernel/resolve.h"

namespace banger::lua {

namespace {

std::string str_field(const nlohmann::json& j, const char* key, const char* what) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return {};
  if (!j[key].is_string()) {
    fail(ErrorKind::invalid_input, std::string(what) + ": " + key + " must be a string");
  }
  return j[key].get<std::string>();
}

std::vector<std::string> names_field(const nlohmann::json& j, const char* what) {
  std::vector<std::string> out;
  if (j.is_object() && j.empty()) return out;  // {} is an empty list
  if (!j.is_array()) fail(ErrorKind::invalid_input, std::string(what) + " must be a list of names");
  for (const auto& v : j) {
    if (!v.is_string()) fail(ErrorKind::invalid_input, std::string(what) + " must be a list of names");
    out.push_back(v.get<std::string>());
  }
  return out;
}

nlohmann::json loads_json(const std::vector<kernel::ModuleLoad>& loads) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : loads) out.push_back({{"name", m.name}, {"path", m.path}});
  return out;
}

int k_pull(lua_State* L) {
  auto name = arg_string(L, 1, "name");
  auto entry = arg_table(L, 2, "entry");
  auto dest = arg_string(L, 3, "dest_dir");
  push_json(L, kernel::pull(name, entry, dest).to_json());
  return 1;
}

int k_import(lua_State* L) {
  auto name = arg_string(L, 1, "name");
  auto spec = arg_table(L, 2, "spec");
  auto dest = arg_string(L, 3, "dest_dir");
  kernel::ImportSpec s{str_field(spec, "kernel", "kernel.import"), str_field(spec, "initrd", "kernel.import"),
                       str_field(spec, "modules", "kernel.import")};
  if (s.kernel.empty()) fail(ErrorKind::invalid_input, "kernel.import: kernel path required");
  push_json(L, kernel::import_kernel(name, s, dest).to_json());
  return 1;
}

int k_manifest(lua_State* L) {
  push_json(L, kernel::read_manifest(arg_string(L, 1, "dir")).to_json());
  return 1;
}

int k_resolve(lua_State* L) {
  auto spec = arg_table(L, 1, "spec");
  kernel::KernelSpec s;
  s.name = str_field(spec, "name", "kernel.resolve");
  s.dir = str_field(spec, "dir", "kernel.resolve");
  s.kernel = str_field(spec, "kernel", "kernel.resolve");
  s.initrd = str_field(spec, "initrd", "kernel.resolve");
  s.modules = str_field(spec, "modules", "kernel.resolve");
  push_json(L, kernel::resolve(s).to_json());
  return 1;
}

int k_inspect(lua_State* L) {
  auto info = kernel::inspect_bzimage(arg_string(L, 1, "path"));
  push_json(L, {{"version", info.version}, {"banner", info.banner}, {"protocol", info.protocol}});
  return 1;
}

int k_modules(lua_State* L) {
  auto dir = arg_string(L, 1, "modules_dir");
  auto required = lua_isnoneornil(L, 2) ? kernel::default_guest_modules()
                                        : names_field(arg_table(L, 2, "names"), "names");
  auto optional = lua_isnoneornil(L, 3) ? (lua_isnoneornil(L, 2) ? kernel::optional_guest_modules()
                                                                 : std::vector<std::string>{})
                                        : names_field(arg_table(L, 3, "optional"), "optional");
  auto index = kernel::ModuleIndex::scan(dir);
  push_json(L, loads_json(kernel::load_order(index, required, optional)));
  return 1;
}

int k_build_initramfs(lua_State* L) {
  auto o = arg_table(L, 1, "opts");
  kernel::InitramfsOptions opts;
  opts.init = str_field(o, "init", "kernel.build_initramfs");
  opts.modules_dir = str_field(o, "modules_dir", "kernel.build_initramfs");
  opts.version = str_field(o, "version", "kernel.build_initramfs");
  opts.out = str_field(o, "out", "kernel.build_initramfs");
  auto compression = str_field(o, "compression", "kernel.build_initramfs");
  if (!compression.empty()) opts.compression = compression;
  if (o.contains("modules") && !o["modules"].is_null()) {
    opts.modules = names_field(o["modules"], "kernel.build_initramfs: modules");
  }
  if (o.contains("optional_modules") && !o["optional_modules"].is_null()) {
    opts.optional_modules = names_field(o["optional_modules"], "kernel.build_initramfs: optional_modules");
  }
  if (o.contains("mtime") && o["mtime"].is_number()) opts.mtime = o["mtime"].get<long long>();
  auto r = kernel::build_initramfs(opts);
  push_json(L, {{"path", r.path},
                {"bytes", r.bytes},
                {"content_bytes", r.content_bytes},
                {"version", r.version},
                {"modules", loads_json(r.modules)}});
  return 1;
}

int k_tcg_boot_args(lua_State* L) {
  push_json(L, nlohmann::json(kernel::tcg_boot_args()));
  return 1;
}

const luaL_Reg kFuncs[] = {
    {"pull", wrap<k_pull>},
    {"import", wrap<k_import>},
    {"manifest", wrap<k_manifest>},
    {"resolve", wrap<k_resolve>},
    {"inspect", wrap<k_inspect>},
    {"modules", wrap<k_modules>},
    {"build_initramfs", wrap<k_build_initramfs>},
    {"tcg_boot_args", wrap<k_tcg_boot_args>},
    {nullptr, nullptr},
};

int open_kernel(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(kernel, open_kernel);

}  // namespace banger::lua
