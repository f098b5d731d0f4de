// The local sources of oci::pull: an OCI image layout directory (oci:DIR),
// a tar of one (oci-archive:FILE) and a `docker save` tarball
// (docker-archive:FILE). Their blobs are verified and copied into the cache,
// so the result is the same PulledImage a registry pull gives.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <random>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "host/core/archive_reader.h"
#include "host/core/error.h"
#include "host/core/fs.h"
#include "host/core/interrupt.h"
#include "host/oci/blob_cache.h"
#include "host/oci/digest.h"
#include "host/oci/pull.h"

namespace banger::oci::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

using ReadBlob = std::function<std::string(const std::string& digest, int64_t max)>;
using ImportBlob = std::function<void(const Descriptor& d)>;

std::string read_file(const fs::path& p, int64_t max, std::string_view what) {
  std::optional<std::string> data;
  try {
    data = banger::fs::read_file_limited(p.string(), static_cast<size_t>(max));
  } catch (const Error& e) {
    throw e.with_context(what);
  }
  if (!data)
    fail(ErrorKind::invalid_input, std::string(what) + ": larger than " + std::to_string(max) + " bytes");
  return std::move(*data);
}

void verify(std::string_view data, const std::string& digest, std::string_view where) {
  std::string got = sha256_digest(data);
  if (got != digest)
    fail(ErrorKind::invalid_input,
         std::string(where) + ": blob " + digest + ": digest mismatch (expected " + digest + ", got " + got +
             ")",
         "the file is corrupt; nothing was cached");
}

// Copies an open stream into the cache under `digest`, verified.
template <typename ReadFn>
void import_stream(BlobCache& cache, const Descriptor& d, std::string_view where, ReadFn&& read) {
  BlobWriter w(cache, d.digest, d.size, std::string(where) + ": blob " + d.digest);
  if (w.done()) return;
  w.restart();
  char buf[1 << 17];
  for (;;) {
    check_interrupted();
    ssize_t n = read(buf, sizeof buf);
    if (n < 0) fail(ErrorKind::io, std::string(where) + ": reading blob " + d.digest);
    if (n == 0) break;
    if (!w.write(buf, static_cast<size_t>(n)))
      fail(ErrorKind::invalid_input,
           std::string(where) + ": blob " + d.digest + ": larger than its " + std::to_string(d.size) +
               " bytes",
           "the file is corrupt; nothing was cached");
  }
  w.commit();
}

std::vector<std::string> tags_of(const json& doc) {
  std::vector<std::string> tags;
  for (const auto& m : doc["manifests"]) {
    if (!m.is_object() || !m.contains("annotations") || !m["annotations"].is_object()) continue;
    auto it = m["annotations"].find(std::string(kRefNameAnnotation));
    if (it != m["annotations"].end() && it->is_string()) tags.push_back(it->get<std::string>());
  }
  return tags;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

// index.json -> the image: a tag or the only image, then a platform.
PulledImage resolve(const Ref& ref, const std::string& index_body, const std::string& where,
                    const ReadBlob& read, const ImportBlob& import, const PullOptions& o) {
  BlobCache cache(o.cache_dir);
  json doc = parse_json(index_body, where + ": index.json");
  Index top = parse_index(doc, where + ": index.json");
  std::vector<std::string> tags = tags_of(doc);
  Index selected;
  for (size_t i = 0; i < top.manifests.size(); i++) {
    const json& m = doc["manifests"][i];
    std::string name;
    if (m.contains("annotations") && m["annotations"].is_object() &&
        m["annotations"].contains(std::string(kRefNameAnnotation)) &&
        m["annotations"][std::string(kRefNameAnnotation)].is_string())
      name = m["annotations"][std::string(kRefNameAnnotation)].get<std::string>();
    if (ref.tag.empty() || name == ref.tag) selected.manifests.push_back(top.manifests[i]);
  }
  if (selected.manifests.empty()) {
    if (!ref.tag.empty())
      fail(ErrorKind::not_found, where + ": no image tagged \"" + ref.tag + "\" (tags: " + join(tags) + ")",
           "name one of the tags, e.g. " + std::string(transport_name(ref.transport)) + ":" + ref.path +
               ":TAG");
    fail(ErrorKind::not_found, where + ": the index has no images", "the layout is empty");
  }
  Descriptor d = selected.manifests.front();
  bool by_platform = false;
  if (selected.manifests.size() > 1) {
    bool platforms = true;
    for (const auto& m : selected.manifests) platforms = platforms && m.platform.has_value();
    if (!platforms)
      fail(ErrorKind::invalid_input,
           where + ": holds " + std::to_string(selected.manifests.size()) + " images (tags: " + join(tags) +
               ")",
           "name one with " + std::string(transport_name(ref.transport)) + ":" + ref.path + ":TAG");
    d = choose_platform(selected, o.platform.value_or(Platform{}));
    by_platform = true;
  }
  std::optional<Platform> chosen = d.platform;
  std::string body = read(d.digest, kMaxManifestSize);
  cache.put(body, d.digest, where + ": manifest " + d.digest);
  json mdoc = parse_json(body, where + ": manifest " + d.digest);
  std::string manifest_digest = d.digest;
  std::string index_digest;
  if (is_index(mdoc, d.media_type)) {
    index_digest = d.digest;
    Index inner = parse_index(mdoc, where + ": index " + d.digest);
    const Descriptor& m = choose_platform(inner, o.platform.value_or(Platform{}));
    chosen = m.platform;
    by_platform = true;
    body = read(m.digest, kMaxManifestSize);
    cache.put(body, m.digest, where + ": manifest " + m.digest);
    mdoc = parse_json(body, where + ": manifest " + m.digest);
    manifest_digest = m.digest;
    if (is_index(mdoc, m.media_type))
      fail(ErrorKind::unsupported,
           where + ": manifest " + m.digest + ": an index inside an index is not supported");
  }
  Manifest manifest = parse_manifest(mdoc, where + ": manifest " + manifest_digest);
  std::string config = read(manifest.config.digest, kMaxConfigSize);
  cache.put(config, manifest.config.digest, where + ": config " + manifest.config.digest);
  PullOptions checked = o;
  if (by_platform) checked.platform.reset();
  PulledImage img = make_image(ref, manifest_digest, manifest, config, checked, where);
  if (by_platform && chosen) img.platform = *chosen;
  img.index_digest = index_digest;
  if (o.before_layers) o.before_layers(manifest);
  for (const auto& l : manifest.layers) {
    bool cached = cache.contains(l.digest);
    if (!cached) import(l);
    if (o.progress) o.progress(l.digest, l.size, l.size);
  }
  return img;
}

PulledImage pull_layout_dir(const Ref& ref, const PullOptions& o) {
  fs::path dir(ref.path);
  std::string where = "oci layout " + ref.path;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(ErrorKind::not_found, where + ": no such directory",
         "oci:DIR names a directory holding an OCI image layout");
  if (!fs::exists(dir / "index.json", ec))
    fail(ErrorKind::invalid_input, where + ": no index.json",
         "oci:DIR names a directory holding an OCI image layout");
  BlobCache cache(o.cache_dir);
  auto blob_path = [&](const std::string& digest) {
    validate_digest(digest, where);
    return dir / "blobs" / "sha256" / std::string(digest_hex(digest));
  };
  ReadBlob read = [&](const std::string& digest, int64_t max) {
    std::string data = read_file(blob_path(digest), max, where + ": blob " + digest);
    verify(data, digest, where);
    return data;
  };
  ImportBlob import = [&](const Descriptor& d) {
    fs::path p = blob_path(d.digest);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_errno(where + ": blob " + d.digest + ": reading " + p.string());
    try {
      import_stream(cache, d, where, [&](char* buf, size_t n) { return ::read(fd, buf, n); });
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  };
  return resolve(ref, read_file(dir / "index.json", kMaxManifestSize, where + ": index.json"), where, read,
                 import, o);
}

// Reads a tar with libarchive; calls `on_file(name, size, reader)` per regular file.
class TarReader {
 public:
  TarReader(const std::string& path, std::string where) : where_(std::move(where)) {
    if (!a_.open_file(path, 1 << 17)) {
      int e = archive_errno(a_.get());
      fail(e == ENOENT ? ErrorKind::not_found : ErrorKind::invalid_input,
           where_ + ": " + a_.error("cannot open"), "the archive must be a tar file");
    }
  }
  // false at the end
  bool next(std::string* name, int64_t* size, bool* regular, std::string* link) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a_.get(), &e);
    if (r == ARCHIVE_EOF) return false;
    if (r < ARCHIVE_WARN) fail(ErrorKind::invalid_input, where_ + ": " + error(), "the archive is corrupt");
    std::string n = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    while (n.rfind("./", 0) == 0) n.erase(0, 2);
    while (!n.empty() && n.front() == '/') n.erase(0, 1);
    *name = n;
    *size = archive_entry_size(e);
    *regular = archive_entry_filetype(e) == AE_IFREG;
    link->clear();
    if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) *link = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) *link = std::string("\x01") + archive_entry_hardlink(e);
    return true;
  }
  ssize_t read(char* buf, size_t n) {
    la_ssize_t r = archive_read_data(a_.get(), buf, n);
    if (r < 0) fail(ErrorKind::invalid_input, where_ + ": " + error(), "the archive is truncated or corrupt");
    return r;
  }
  std::string read_all(int64_t max, const std::string& what) {
    std::string out;
    char buf[1 << 16];
    for (ssize_t n; (n = read(buf, sizeof buf)) > 0;) {
      out.append(buf, static_cast<size_t>(n));
      if (static_cast<int64_t>(out.size()) > max)
        fail(ErrorKind::invalid_input,
             where_ + ": " + what + ": larger than " + std::to_string(max) + " bytes");
    }
    return out;
  }

 private:
  std::string error() { return a_.error("read error"); }
  ArchiveReader a_{ArchiveReader::Format::tar, true};
  std::string where_;
};

PulledImage pull_oci_archive(const Ref& ref, const PullOptions& o) {
  std::string where = "oci archive " + ref.path;
  BlobCache cache(o.cache_dir);
  TarReader tar(ref.path, where);
  std::string index_body;
  std::string name, link;
  int64_t size = 0;
  bool regular = false;
  // Every blob goes into the cache, verified; the image is resolved from there.
  while (tar.next(&name, &size, &regular, &link)) {
    check_interrupted();
    if (!regular) continue;
    if (name == "index.json") {
      index_body = tar.read_all(kMaxManifestSize, "index.json");
      continue;
    }
    if (name.rfind("blobs/sha256/", 0) != 0) continue;
    std::string digest = "sha256:" + name.substr(13);
    if (!is_valid_digest(digest)) {
      spdlog::debug("{}: skipping {}", where, name);
      continue;
    }
    if (cache.contains(digest)) continue;
    Descriptor d{"", digest, size, std::nullopt};
    import_stream(cache, d, where, [&](char* buf, size_t n) { return tar.read(buf, n); });
  }
  if (index_body.empty())
    fail(ErrorKind::invalid_input, where + ": no index.json",
         "oci-archive:FILE names a tar of an OCI image layout");
  auto missing = [&](const std::string& digest) {
    fail(ErrorKind::invalid_input, where + ": blob " + digest + " is missing", "the archive is incomplete");
  };
  ReadBlob read = [&](const std::string& digest, int64_t max) {
    if (!cache.contains(digest)) missing(digest);
    return cache.read(digest, max);
  };
  ImportBlob import = [&](const Descriptor& d) {
    if (!cache.contains(d.digest)) missing(d.digest);
  };
  return resolve(ref, index_body, where, read, import, o);
}

// A file of unknown digest streamed into the cache: temp file, hash, rename.
struct Imported {
  std::string digest;
  int64_t size = 0;
  std::string head;  // the first bytes, for the compression magic
};

Imported import_unknown(BlobCache& cache, TarReader& tar, const std::string& where) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  fs::path tmp = cache.dir() / ("import-" + std::to_string(rng()) + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("creating " + tmp.string());
  Imported out;
  Sha256 h;
  char buf[1 << 17];
  try {
    for (ssize_t n; (n = tar.read(buf, sizeof buf)) > 0;) {
      check_interrupted();
      if (out.head.size() < 8)
        out.head.append(buf, std::min<size_t>(8 - out.head.size(), static_cast<size_t>(n)));
      h.update(buf, static_cast<size_t>(n));
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(fd, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail_errno("writing " + tmp.string());
        off += w;
      }
      out.size += n;
    }
    out.digest = h.finish();
    if (::fsync(fd) != 0) fail_errno("syncing " + tmp.string());
    ::close(fd);
    fd = -1;
    if (cache.contains(out.digest)) {
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), cache.path(out.digest).c_str()) != 0) {
      fail_errno("renaming " + tmp.string());
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  (void)where;
  return out;
}

std::string layer_media_type(const std::string& head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b)
    return std::string(media::kOciLayerGzip);
  if (head.size() >= 4 && head.compare(0, 4, "\x28\xb5\x2f\xfd") == 0)
    return std::string(media::kOciLayerZstd);
  return std::string(media::kOciLayerTar);
}

PulledImage pull_docker_archive(const Ref& ref, const PullOptions& o) {
  std::string where = "docker archive " + ref.path;
  BlobCache cache(o.cache_dir);
  TarReader tar(ref.path, where);
  std::map<std::string, std::string> json_files;  // name -> bytes
  std::map<std::string, Imported> files;          // name -> cached blob
  std::map<std::string, std::string> links;       // name -> target name
  std::string name, link;
  int64_t size = 0;
  bool regular = false;
  while (tar.next(&name, &size, &regular, &link)) {
    check_interrupted();
    if (!link.empty()) {
      std::string target = link[0] == '\x01'
                               ? link.substr(1)
                               : (fs::path(name).parent_path() / link).lexically_normal().string();
      links[name] = target;
      continue;
    }
    if (!regular) continue;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json" && size <= kMaxConfigSize) {
      json_files[name] = tar.read_all(kMaxConfigSize, name);
      continue;
    }
    files[name] = import_unknown(cache, tar, where);
  }
  auto mf = json_files.find("manifest.json");
  if (mf == json_files.end())
    fail(ErrorKind::invalid_input, where + ": no manifest.json",
         "docker-archive:FILE names a `docker save` tarball");
  json doc = json::parse(mf->second, nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.empty() || !doc[0].is_object())
    fail(ErrorKind::invalid_input, where + ": manifest.json is malformed", "the archive is corrupt");
  if (doc.size() > 1)
    fail(ErrorKind::unsupported, where + ": holds " + std::to_string(doc.size()) + " images",
         "save one image per archive (`docker save IMAGE`)");
  const json& entry = doc[0];
  if (!entry.contains("Config") || !entry["Config"].is_string() || !entry.contains("Layers") ||
      !entry["Layers"].is_array())
    fail(ErrorKind::invalid_input, where + ": manifest.json lacks Config or Layers",
         "the archive is corrupt");
  auto resolve_name = [&](std::string n) {
    for (int i = 0; i < 8 && links.count(n); i++) n = links[n];
    return n;
  };
  std::string config_name = resolve_name(entry["Config"].get<std::string>());
  std::string config;
  if (auto it = json_files.find(config_name); it != json_files.end()) {
    config = it->second;
  } else if (auto f = files.find(config_name); f != files.end()) {
    config = cache.read(f->second.digest, kMaxConfigSize);
  } else {
    fail(ErrorKind::invalid_input, where + ": config " + config_name + " is missing",
         "the archive is incomplete");
  }
  std::string config_digest = sha256_digest(config);
  cache.put(config, config_digest, where + ": config");
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", media::kOciManifest},
      {"config", {{"mediaType", media::kOciConfig}, {"digest", config_digest}, {"size", config.size()}}},
      {"layers", json::array()}};
  for (const auto& l : entry["Layers"]) {
    if (!l.is_string()) fail(ErrorKind::invalid_input, where + ": manifest.json: a layer is not a string");
    std::string ln = resolve_name(l.get<std::string>());
    auto f = files.find(ln);
    if (f == files.end())
      fail(ErrorKind::invalid_input, where + ": layer " + ln + " is missing", "the archive is incomplete");
    manifest["layers"].push_back({{"mediaType", layer_media_type(f->second.head)},
                                  {"digest", f->second.digest},
                                  {"size", f->second.size}});
    if (o.progress) o.progress(f->second.digest, f->second.size, f->second.size);
  }
  std::string body = manifest.dump();
  std::string manifest_digest = sha256_digest(body);
  cache.put(body, manifest_digest, where + ": manifest");
  Manifest m = parse_manifest(manifest, where + ": manifest");
  return make_image(ref, manifest_digest, m, config, o, where);
}

}  // namespace

PulledImage pull_local(const Ref& ref, const PullOptions& o) {
  switch (ref.transport) {
    case Transport::oci_layout:
      return pull_layout_dir(ref, o);
    case Transport::oci_archive:
      return pull_oci_archive(ref, o);
    case Transport::docker_archive:
      return pull_docker_archive(ref, o);
    case Transport::registry:
      break;
  }
  fail(ErrorKind::internal, "pull_local called for a registry ref");
}

}  // namespace banger::oci::detail
