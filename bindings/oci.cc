// _host.oci: image references and pulls (host/oci/).
//
//   _host.oci.parse(ref) -> {transport=, registry=, repository=, tag=, digest=, path=, canonical=}
//   _host.oci.pull(ref, opts) -> {ref=, manifest_digest=, config=, platform=, layers={...}, ...}
#include <optional>

#include <nlohmann/json.hpp>

#include "bindings/support.h"
#include "host/core/paths.h"
#include "host/layers/build.h"
#include "host/oci/pull.h"
#include "host/oci/ref.h"

namespace banger::lua {

namespace {

nlohmann::json ref_json(const oci::Ref& r) {
  nlohmann::json j = {{"transport", oci::transport_name(r.transport)}, {"canonical", r.to_string()}};
  auto opt = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  opt("registry", r.registry);
  opt("repository", r.repository);
  opt("tag", r.tag);
  opt("digest", r.digest);
  opt("path", r.path);
  return j;
}

// A reference is a string, never a number Lua would turn into one.
std::string ref_arg(lua_State* L, const char* fn) {
  if (lua_type(L, 1) != LUA_TSTRING)
    fail(ErrorKind::invalid_input, std::string(fn) + ": ref must be a string, got " + luaL_typename(L, 1));
  return arg_string(L, 1, "ref");
}

int oci_parse(lua_State* L) {
  push_json(L, ref_json(oci::parse_ref(ref_arg(L, "oci.parse"))));
  return 1;
}

std::vector<std::string> string_list(const nlohmann::json& v, const char* name) {
  std::vector<std::string> out;
  if (v.is_null() || (v.is_object() && v.empty())) return out;
  if (!v.is_array()) fail(ErrorKind::invalid_input, std::string(name) + " must be a list of strings");
  for (const auto& s : v) {
    if (!s.is_string()) fail(ErrorKind::invalid_input, std::string(name) + " must be a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

int oci_pull(lua_State* L) {
  std::string text = ref_arg(L, "oci.pull");
  if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
    fail(ErrorKind::invalid_input, std::string("oci.pull: opts must be a table, got ") + luaL_typename(L, 2));
  oci::PullOptions o;
  int callback = 0;  // stack index of the progress function
  bool bars = true;
  nlohmann::json opts = nlohmann::json::object();
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "progress");
    if (lua_isfunction(L, -1)) {
      callback = lua_gettop(L);
    } else {
      if (lua_isboolean(L, -1)) bars = lua_toboolean(L, -1);
      else if (!lua_isnil(L, -1))
        fail(ErrorKind::invalid_input, "opts.progress must be a function or a boolean");
      lua_pop(L, 1);
    }
    // The other options, as JSON.
    lua_newtable(L);
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (lua_type(L, -2) == LUA_TSTRING && std::string_view(lua_tostring(L, -2)) == "progress") {
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, copy);
    }
    opts = to_json(L, copy);
    lua_pop(L, 1);
  }
  auto str = [&](const char* key) -> std::string {
    auto it = opts.find(key);
    if (it == opts.end() || it->is_null()) return {};
    if (!it->is_string()) fail(ErrorKind::invalid_input, std::string("opts.") + key + " must be a string");
    return it->get<std::string>();
  };
  // Numbers the caller gave; the defaults are PullOptions' own.
  auto num = [&](const char* key) -> std::optional<double> {
    auto it = opts.find(key);
    if (it == opts.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) fail(ErrorKind::invalid_input, std::string("opts.") + key + " must be a number");
    return it->get<double>();
  };
  o.cache_dir = str("cache_dir");
  if (o.cache_dir.empty()) {
    paths::ensure_layout();
    o.cache_dir = paths::home();
  }
  if (std::string p = str("platform"); !p.empty()) o.platform = oci::parse_platform(p);
  if (auto n = num("parallel")) o.parallel = static_cast<int>(*n);
  if (auto n = num("timeout")) o.timeout = std::chrono::milliseconds(static_cast<long long>(*n * 1000));
  if (auto n = num("retries")) o.retry.attempts = static_cast<int>(*n);
  o.config.docker_config = str("docker_config");
  o.config.ca_file = str("ca_file");
  if (opts.contains("insecure")) o.config.insecure = string_list(opts["insecure"], "opts.insecure");
  if (opts.contains("mirrors") && !opts["mirrors"].is_null()) {
    if (!opts["mirrors"].is_object())
      fail(ErrorKind::invalid_input, "opts.mirrors must map registries to lists");
    for (const auto& [host, list] : opts["mirrors"].items())
      o.config.mirrors[host] = string_list(list, "opts.mirrors entries");
  }
  // The root disk size the image will be built at: checked against the
  // manifest before any layer is downloaded.
  if (auto size = num("image_size"); size && *size > 0) {
    uint64_t bytes = static_cast<uint64_t>(*size);
    layers::check_build_size(bytes, {});  // a size no image can have: before any request
    o.before_layers = [bytes](const oci::Manifest& m) {
      std::vector<std::pair<std::string, uint64_t>> sizes;
      for (const auto& l : m.layers) sizes.emplace_back(l.digest, static_cast<uint64_t>(l.size));
      layers::check_build_size(bytes, sizes);
    };
  }
  if (callback) {
    o.progress = [L, callback](const std::string& digest, int64_t done, int64_t total) {
      lua_pushvalue(L, callback);
      lua_pushlstring(L, digest.data(), digest.size());
      lua_pushnumber(L, static_cast<lua_Number>(done));
      lua_pushnumber(L, static_cast<lua_Number>(total));
      call_lua(L, 3, 0, "progress callback");
    };
  } else if (bars) {
    o.progress = oci::layer_download_bars();
  }
  oci::PulledImage img = oci::pull(text, o);
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : img.layers)
    layers.push_back({{"digest", l.digest},
                      {"size", l.size},
                      {"media_type", l.media_type},
                      {"compression", oci::compression_name(l.compression)},
                      {"path", l.path.string()},
                      {"diff_id", l.diff_id}});
  nlohmann::json out = {
      {"ref", img.ref.to_string()},
      {"source", ref_json(img.ref)},
      {"manifest_digest", img.manifest_digest},
      {"manifest_media_type", img.manifest_media_type},
      {"index_digest", img.index_digest.empty() ? nlohmann::json() : nlohmann::json(img.index_digest)},
      {"config_digest", img.config_digest},
      {"config", img.config},
      {"platform", img.platform.to_string()},
      {"layers", layers},
      {"downloaded_bytes", img.downloaded_bytes},
      {"downloaded_blobs", img.downloaded_blobs}};
  push_json(L, out);
  return 1;
}

const luaL_Reg kFuncs[] = {{"parse", wrap<oci_parse>}, {"pull", wrap<oci_pull>}, {nullptr, nullptr}};

int open_oci(lua_State* L) {
  lua_newtable(L);
  luaL_register(L, nullptr, kFuncs);
  return 1;
}

}  // namespace

BANGER_LUA_MODULE(oci, open_oci);

}  // namespace banger::lua
