#include "host/oci/pull.h"

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "host/core/error.h"
#include "host/core/interrupt.h"
#include "host/core/progress.h"
#include "host/oci/blob_cache.h"
#include "host/oci/digest.h"

namespace banger::oci {

namespace {

struct LayerJob {
  const Descriptor* desc;
  std::atomic<int64_t> done{0};
  std::atomic<bool> finished{false};
  int64_t reported = -1;
};

// Downloads the layers not yet cached, `parallel` at a time, reporting
// progress from this thread.
void download_layers(RegistryClient& client, BlobCache& cache, const std::vector<Descriptor>& todo,
                     const PullOptions& o, TransferControl& control, std::atomic<bool>& abort) {
  std::vector<std::unique_ptr<LayerJob>> jobs;
  for (const auto& d : todo) {
    jobs.push_back(std::make_unique<LayerJob>());
    jobs.back()->desc = &d;
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  std::exception_ptr first_error;
  size_t running = 0;

  auto worker = [&] {
    HttpSession http(control);
    for (;;) {
      size_t i = next++;
      if (i >= jobs.size() || abort) break;
      LayerJob& job = *jobs[i];
      try {
        BlobWriter w(cache, job.desc->digest, job.desc->size, "blob " + job.desc->digest);
        job.done = w.done() ? job.desc->size : w.offset();
        if (!w.done()) client.get_blob(http, *job.desc, w, job.done);
        job.done = job.desc->size;
        job.finished = true;
      } catch (...) {
        std::lock_guard lock(mu);
        // Keep the first real error, not the "cancelled" of the others.
        bool cancelled = false;
        try {
          throw;
        } catch (const Error& e) {
          cancelled = e.kind() == ErrorKind::interrupted && e.message() == "cancelled";
        } catch (...) {
        }
        if (!first_error && !cancelled) first_error = std::current_exception();
        abort = true;
      }
      cv.notify_all();
    }
    std::lock_guard lock(mu);
    running--;
    cv.notify_all();
  };

  size_t n = std::min<size_t>(std::max(1, o.parallel), jobs.size());
  std::vector<std::thread> threads;
  struct Joiner {
    std::vector<std::thread>& t;
    std::atomic<bool>& abort;
    ~Joiner() {
      if (std::uncaught_exceptions()) abort = true;
      for (auto& th : t)
        if (th.joinable()) th.join();
    }
  } joiner{threads, abort};
  running = n;
  for (size_t i = 0; i < n; i++) threads.emplace_back(worker);

  auto report = [&](bool force) {
    if (!o.progress) return;
    for (auto& j : jobs) {
      int64_t d = j->done;
      if (d != j->reported && (force || !j->finished || d == j->desc->size)) {
        j->reported = d;
        o.progress(j->desc->digest, d, j->desc->size);
      }
    }
  };
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; });
      if (running == 0) break;
    }
    if (interrupted()) abort = true;
    report(false);
  }
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  check_interrupted();
  report(true);
}

PulledImage pull_registry(const Ref& ref, const PullOptions& o) {
  BlobCache cache(o.cache_dir);
  std::atomic<bool> abort{false};
  TransferControl control;
  control.deadline = Clock::now() + o.timeout;
  control.abort = &abort;
  control.ca_file = o.config.ca_file;
  RegistryClient client(ref, o.config, o.retry, control);
  HttpSession http(control);
  int64_t downloaded_bytes = 0;
  int downloaded_blobs = 0;

  auto get_manifest = [&](const std::string& reference, std::string* content_type) {
    if (is_valid_digest(reference) && cache.contains(reference))
      return cache.read(reference, kMaxManifestSize);
    auto f = client.get_manifest(http, reference);
    cache.put(f.body, f.digest, "manifest " + f.digest);
    *content_type = f.content_type;
    return f.body;
  };

  std::string content_type;
  std::string body = get_manifest(ref.reference(), &content_type);
  std::string manifest_digest = sha256_digest(body);
  nlohmann::json doc = parse_json(body, "manifest");
  bool from_index = false;
  Platform chosen;
  std::string index_digest;
  if (is_index(doc, content_type)) {
    index_digest = manifest_digest;
    Index idx = parse_index(doc, "index " + manifest_digest);
    Platform want = o.platform.value_or(Platform{});
    const Descriptor& d = choose_platform(idx, want);
    chosen = *d.platform;
    if (d.size > kMaxManifestSize)
      fail(ErrorKind::invalid_input, "manifest " + d.digest + ": larger than 4 MiB",
           "the index is malformed");
    content_type = d.media_type;
    body = get_manifest(d.digest, &content_type);
    manifest_digest = d.digest;
    doc = parse_json(body, "manifest " + d.digest);
    if (is_index(doc, content_type))
      fail(ErrorKind::unsupported, "manifest " + d.digest + ": an index inside an index is not supported");
    from_index = true;
  }
  Manifest m = parse_manifest(doc, "manifest " + manifest_digest);

  std::string config_body;
  if (cache.contains(m.config.digest)) {
    config_body = cache.read(m.config.digest, kMaxConfigSize);
  } else {
    config_body = client.get_small_blob(http, m.config, kMaxConfigSize);
    cache.put(config_body, m.config.digest, "config " + m.config.digest);
    downloaded_bytes += static_cast<int64_t>(config_body.size());
    downloaded_blobs++;
  }
  PullOptions checked = o;
  if (from_index) checked.platform.reset();  // chosen already; configs may omit the variant
  PulledImage img = detail::make_image(ref, manifest_digest, m, config_body, checked, "");
  if (from_index) img.platform = chosen;
  img.index_digest = index_digest;

  if (o.before_layers) o.before_layers(m);
  std::vector<Descriptor> todo;
  for (const auto& l : m.layers) {
    bool queued = false;
    for (const auto& t : todo) queued = queued || t.digest == l.digest;
    if (queued) continue;
    if (cache.contains(l.digest)) {
      if (o.progress) o.progress(l.digest, l.size, l.size);
      continue;
    }
    todo.push_back(l);
    downloaded_bytes += l.size;
    downloaded_blobs++;
  }
  if (!todo.empty()) download_layers(client, cache, todo, o, control, abort);
  img.downloaded_bytes = downloaded_bytes;
  img.downloaded_blobs = downloaded_blobs;
  spdlog::debug("pulled {}: {} layers, {} bytes downloaded", ref.to_string(), img.layers.size(),
                downloaded_bytes);
  return img;
}

}  // namespace

namespace detail {

PulledImage make_image(const Ref& ref, const std::string& manifest_digest, const Manifest& manifest,
                       const std::string& config_body, const PullOptions& options, std::string_view) {
  PulledImage img;
  img.ref = ref;
  img.manifest_digest = manifest_digest;
  img.manifest_media_type = manifest.media_type;
  img.config_digest = manifest.config.digest;
  img.config = parse_json(config_body, "config " + manifest.config.digest);
  auto str = [&](const char* key) {
    auto it = img.config.find(key);
    return it != img.config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  img.platform.os = str("os");
  img.platform.architecture = str("architecture");
  img.platform.variant = str("variant");
  if (options.platform && !platform_matches(*options.platform, img.platform))
    fail(ErrorKind::not_found,
         "no image for platform " + options.platform->to_string() +
             " (available: " + img.platform.to_string() + ")",
         "choose one of the available platforms with --platform");
  auto rootfs = img.config.find("rootfs");
  if (rootfs != img.config.end() && rootfs->is_object() && rootfs->contains("diff_ids") &&
      (*rootfs)["diff_ids"].is_array() && (*rootfs)["diff_ids"].size() != manifest.layers.size())
    fail(ErrorKind::invalid_input,
         "config " + manifest.config.digest + " lists " + std::to_string((*rootfs)["diff_ids"].size()) +
             " layers but the manifest has " + std::to_string(manifest.layers.size()),
         "the image is malformed; rebuild or re-push it");
  BlobCache cache(options.cache_dir);
  const nlohmann::json* diff_ids = nullptr;
  if (rootfs != img.config.end() && rootfs->is_object() && rootfs->contains("diff_ids") &&
      (*rootfs)["diff_ids"].is_array())
    diff_ids = &(*rootfs)["diff_ids"];
  for (size_t i = 0; i < manifest.layers.size(); i++) {
    const auto& l = manifest.layers[i];
    img.layers.push_back(
        {l.digest, l.size, l.media_type, layer_compression(l.media_type), cache.path(l.digest)});
    if (!diff_ids) continue;
    const auto& d = (*diff_ids)[i];
    std::string what = "config " + manifest.config.digest + " diff_id " + std::to_string(i + 1);
    validate_digest(d.is_string() ? d.get<std::string>() : std::string(), what);
    img.layers.back().diff_id = d.get<std::string>();
  }
  return img;
}

}  // namespace detail

PulledImage pull(const Ref& ref, const PullOptions& options) {
  try {
    if (options.cache_dir.empty()) fail(ErrorKind::invalid_input, "no cache directory given");
    if (ref.transport != Transport::registry) return detail::pull_local(ref, options);
    return pull_registry(ref, options);
  } catch (const Error& e) {
    throw e.with_context("pulling " + ref.to_string());
  }
}

PulledImage pull(std::string_view ref, const PullOptions& options) { return pull(parse_ref(ref), options); }

ProgressFn layer_download_bars() {
  // Shared by the copies PullOptions makes; the last one ends what is open.
  auto bars = std::make_shared<progress::TaskSet>();
  return [bars](const std::string& digest, int64_t done, int64_t total) {
    bars->update(digest, progress::digest_label(digest), static_cast<uint64_t>(done),
                 static_cast<uint64_t>(total));
  };
}

}  // namespace banger::oci
