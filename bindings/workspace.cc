// _host.workspace: a VM's workspace disk and its results (host/workspace).
//
//   _host.workspace.create({vm=, source=, state_dir=, size=?}) -> workspace
//   _host.workspace.begin({...the same}) -> building, workspace (planned: disk and size final)
//     building:wait() -> workspace   the disk written on a thread meanwhile
//   _host.workspace.mount_argv() -> argv   the guest command that mounts a disk begun so
//   _host.workspace.export({vm=, workspace=, mode="branch"|"apply"|"dir"|"check", dir=?, scratch=})
//     -> {kind=, branch=, commit=, dir=, added=, modified=, deleted=, commits=, note=, skipped={}}
//   _host.workspace.check_path(path)       the guest mount point rule
//   _host.workspace.check_export_dir(dir)  the --export DIR rule
//   _host.workspace.branch_name(vm)        "banger/VM"
//   _host.workspace.is_repository(dir)     taken as a git repository?
#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/vm/qemu_command.h"
#include "host/workspace/export_dir.h"
#include "host/workspace/source.h"
#include "host/workspace/workspace.h"
#include "proto/boot.h"

namespace banger::lua {

namespace {

using Json = nlohmann::json;

std::string field(const Json& j, const char* key, const char* what, bool required = true) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) fail(ErrorKind::invalid_input, std::string(what) + ": " + key + " is missing");
    return "";
  }
  if (!j[key].is_string())
    fail(ErrorKind::invalid_input, std::string(what) + ": " + key + " must be a string");
  return j[key].get<std::string>();
}

uint64_t number(const Json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return 0;
  double v = j[key].get<double>();
  return v > 0 ? static_cast<uint64_t>(v) : 0;
}

Json to_json(const workspace::Workspace& w) {
  return {{"source", w.source},       {"git", w.git},         {"head", w.head},
          {"base", w.base},           {"disk", w.disk},       {"manifest", w.manifest},
          {"files", w.files},         {"entries", w.entries}, {"data_bytes", w.data_bytes},
          {"disk_size", w.disk_size}, {"seconds", w.seconds}};
}

workspace::Workspace from_json(const Json& j) {
  const char* what = "workspace";
  if (!j.is_object())
    fail(ErrorKind::invalid_input, "workspace must be a table (what workspace.create returned)");
  workspace::Workspace w;
  w.source = field(j, "source", what);
  w.git = j.contains("git") && j["git"].is_boolean() && j["git"].get<bool>();
  w.head = field(j, "head", what, false);
  w.base = field(j, "base", what, false);
  w.disk = field(j, "disk", what);
  w.manifest = field(j, "manifest", what);
  return w;
}

constexpr const char* kBuildingType = "banger.workspace.Building";

workspace::CreateRequest create_request(lua_State* L, const char* what) {
  Json o = arg_table(L, 1, "opts");
  workspace::CreateRequest r;
  r.vm = field(o, "vm", what);
  r.source = field(o, "source", what);
  r.state_dir = field(o, "state_dir", what);
  r.size = number(o, "size");
  return r;
}

int ws_create(lua_State* L) {
  push_json(L, to_json(workspace::create(create_request(L, "workspace.create"))));
  return 1;
}

int ws_begin(lua_State* L) {
  std::shared_ptr<workspace::Building> b = workspace::Building::begin(create_request(L, "workspace.begin"));
  Json planned = to_json(b->planned());
  push_handle(L, std::move(b), kBuildingType);
  push_json(L, planned);
  return 2;
}

int building_wait(lua_State* L) {
  push_json(L, to_json(arg_handle<workspace::Building>(L, 1, kBuildingType)->wait()));
  return 1;
}

int ws_mount_argv(lua_State* L) {
  push_json(L, Json::array({proto::kAgentPath, proto::kToolMountWorkspace}));
  return 1;
}

workspace::ExportMode mode_of(const std::string& m) {
  if (m == "branch") return workspace::ExportMode::branch;
  if (m == "apply") return workspace::ExportMode::apply;
  if (m == "dir") return workspace::ExportMode::dir;
  if (m == "check") return workspace::ExportMode::check;
  fail(ErrorKind::invalid_input, "workspace.export: mode '" + m + "' is not branch, apply, dir or check");
}

int ws_export(lua_State* L) {
  Json o = arg_table(L, 1, "opts");
  workspace::ExportRequest r;
  r.vm = field(o, "vm", "workspace.export");
  if (!o.contains("workspace")) fail(ErrorKind::invalid_input, "workspace.export: workspace is missing");
  r.workspace = from_json(o["workspace"]);
  r.mode = mode_of(field(o, "mode", "workspace.export"));
  r.dir = field(o, "dir", "workspace.export", r.mode == workspace::ExportMode::dir);
  r.scratch = field(o, "scratch", "workspace.export");
  workspace::ExportResult x = workspace::export_results(r);
  Json skipped = Json::array();
  for (const auto& s : x.skipped) skipped.push_back(s);
  Json out = {{"kind", x.kind},
              {"added", x.counts.added},
              {"modified", x.counts.modified},
              {"deleted", x.counts.deleted},
              {"commits", x.commits},
              {"skipped", skipped}};
  if (!x.branch.empty()) out["branch"] = x.branch;
  if (!x.commit.empty()) out["commit"] = x.commit;
  if (!x.dir.empty()) out["dir"] = x.dir;
  if (!x.note.empty()) out["note"] = x.note;
  push_json(L, out);
  return 1;
}

int ws_check_path(lua_State* L) {
  vm::check_workspace_path(arg_string(L, 1, "path"));
  return 0;
}

int ws_check_export_dir(lua_State* L) {
  workspace::check_export_dir(arg_string(L, 1, "dir"));
  return 0;
}

int ws_branch_name(lua_State* L) {
  std::string b = workspace::branch_name(arg_string(L, 1, "vm"));
  lua_pushlstring(L, b.data(), b.size());
  return 1;
}

int ws_is_repository(lua_State* L) {
  lua_pushboolean(L, workspace::is_repository(arg_string(L, 1, "dir")));
  return 1;
}

const luaL_Reg kBuildingMethods[] = {
    {"wait", wrap<building_wait>},
    {nullptr, nullptr},
};

const luaL_Reg kFuncs[] = {
    {"is_repository", wrap<ws_is_repository>},
    {"create", wrap<ws_create>},
    {"begin", wrap<ws_begin>},
    {"mount_argv", wrap<ws_mount_argv>},
    {"export", wrap<ws_export>},
    {"check_path", wrap<ws_check_path>},
    {"check_export_dir", wrap<ws_check_export_dir>},
    {"branch_name", wrap<ws_branch_name>},
    {nullptr, nullptr},
};

int open_workspace(lua_State* L) {
  define_handle<workspace::Building>(L, kBuildingType, kBuildingMethods);
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(workspace, open_workspace);

}  // namespace banger::lua
