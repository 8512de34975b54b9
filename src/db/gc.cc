// SPDX-License-Identifier: Apache-2.0
#include "db/gc.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

#include "format/wal_format.h"
#include "util/coding.h"
#include "util/logging.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr std::string_view kSstPrefix = "sst/";
constexpr std::string_view kWalPrefix = "wal/";
constexpr std::string_view kCheckpointPrefix = "checkpoint/";
// A fence is a WAL header and trailer with no records: always exactly this size, so LIST tells
// fences apart without a GET. (A data object has at least one record and is larger.)
constexpr uint64_t kFenceBytes = kWalHeaderBytes + kWalTrailerBytes;

uint64_t SaturatingSub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

bool HexDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

struct GarbageCollector::Retained {
  uint64_t latest_version = 0;
  uint64_t boundary = 0;                     // manifest/BOUNDARY when the pass began
  std::vector<SummaryPtr> manifests;         // the latest, the window, the state at its start
  std::vector<SummaryPtr> pinned;            // manifests live checkpoints pin
  uint64_t prune_below = 0;                  // manifest versions below this may be deleted
  std::vector<ObjectInfo> listed_manifests;  // manifest objects LIST returned, in version order
};

GarbageCollector::GarbageCollector(std::shared_ptr<ObjectStore> store, ManifestStore* manifests,
                                   std::shared_ptr<Clock> clock, GarbageCollectorOptions options)
    : store_(std::move(store)),
      manifests_(manifests),
      clock_(std::move(clock)),
      options_(std::move(options)) {
  assert(store_ != nullptr && manifests_ != nullptr && clock_ != nullptr);
  assert(options_.delete_batch_size > 0 && options_.list_page_size > 0);
}

Status GarbageCollector::CheckCancelled() const {
  if (cancelled_) return Status::Busy("GC pass of " + store_->Describe() + " cancelled");
  return Status::OK();
}

Result<uint64_t> GarbageCollector::ParseSstCreateMicros(std::string_view key) {
  // sst/ + 13 hex + '-' + 16 hex + .sst
  constexpr size_t kLength = 4 + 13 + 1 + 16 + 4;
  if (key.size() != kLength || key.substr(0, 4) != kSstPrefix || key[17] != '-' ||
      key.substr(kLength - 4) != ".sst" || !HexDigits(key.substr(4, 13)) ||
      !HexDigits(key.substr(18, 16))) {
    return Status::InvalidArgument("not an SST object key: '" + std::string(key) + "'");
  }
  uint64_t micros = 0;
  for (char c : key.substr(4, 13)) micros = micros * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
  return micros;
}

GarbageCollector::SummaryPtr GarbageCollector::Summarize(const Manifest& m) {
  auto s = std::make_shared<ManifestSummary>();
  s->version = m.version();
  s->commit_time_micros = m.commit_time_micros();
  s->replay_point = m.replay_point();
  s->next_wal_id = m.next_wal_id();
  auto add = [&](const proto::SstMeta& meta) {
    // SSTs a clone borrows live in another database: never ours to delete.
    if (meta.db_url().empty()) s->ssts.push_back(meta.object_key());
  };
  for (const auto& meta : m.l0()) add(meta);
  for (const auto& level : m.levels()) {
    for (const auto& meta : level.ssts()) add(meta);
  }
  return s;
}

Result<GarbageCollector::SummaryPtr> GarbageCollector::LoadSummary(uint64_t version) {
  auto it = cache_.find(version);
  if (it != cache_.end()) return it->second;
  RETURN_IF_ERROR(CheckCancelled());
  ASSIGN_OR_RETURN(Manifest m, manifests_->Load(version));
  SummaryPtr s = Summarize(m);
  if (cache_.size() < options_.max_cached_manifests) cache_.emplace(version, s);
  return s;
}

Result<GarbageCollector::Retained> GarbageCollector::ComputeRetained(const Manifest& latest,
                                                                     uint64_t now_micros) {
  const auto& settings = latest.settings();
  Retained r;
  r.latest_version = latest.version();
  ASSIGN_OR_RETURN(ManifestBoundary boundary, manifests_->ReadBoundary());
  r.boundary = boundary.version;
  std::string after;
  while (true) {
    RETURN_IF_ERROR(CheckCancelled());
    ASSIGN_OR_RETURN(ListResult page,
                     store_->List(kManifestPrefix, after, options_.list_page_size));
    for (auto& obj : page.objects) {
      if (ParseManifestObjectKey(obj.key).ok()) r.listed_manifests.push_back(std::move(obj));
    }
    if (!page.truncated || page.objects.empty()) break;
    after = page.objects.back().key;
  }

  // Walk down from the latest through the window. Commit times grow with the version, so the
  // first manifest committed before the window's start is the state at that start: keep it
  // (as_of the oldest point in the window needs it) and stop. gc_min_age widens the window so
  // that a reader in another process that loaded a manifest less than gc_min_age ago still
  // finds its objects, and so ManifestStore::CommittedRecently holds.
  const uint64_t window =
      std::max(settings.history_retention_micros(), settings.gc_min_age_micros()) +
      settings.max_clock_skew_micros();
  const uint64_t window_start = SaturatingSub(now_micros, window);
  for (uint64_t v = latest.version(); v > 0 && v >= r.boundary; v--) {
    SummaryPtr s;
    if (v == latest.version()) {
      s = Summarize(latest);
    } else {
      auto loaded = LoadSummary(v);
      if (!loaded.ok()) {
        if (loaded.status().IsNotFound()) {
          return Status::Busy("manifest version " + std::to_string(v) +
                              " vanished during GC (another GC pass running?)");
        }
        return loaded.status();
      }
      s = *loaded;
    }
    r.manifests.push_back(s);
    r.prune_below = v;
    if (s->commit_time_micros < window_start) break;
  }
  assert(!r.manifests.empty() && r.prune_below <= r.latest_version);

  // Checkpoints pin their manifest through its copy under checkpoint/, so the pin never blocks
  // pruning manifest/. Without a copy the pinned version itself must stay.
  for (const auto& cp : latest.checkpoints()) {
    if (cp.expire_time_micros() != 0 &&
        cp.expire_time_micros() + settings.max_clock_skew_micros() < now_micros) {
      continue;  // expired: the next commit drops it
    }
    const std::string copy_key = std::string(kCheckpointPrefix) + cp.id() + ".manifest";
    RETURN_IF_ERROR(ValidateObjectKey(copy_key).WithContext("checkpoint id '" + cp.id() + "'"));
    auto copy = store_->Get(copy_key);
    if (copy.ok()) {
      ASSIGN_OR_RETURN(Manifest pinned, DecodeManifest(copy_key, copy->data));
      r.pinned.push_back(Summarize(pinned));
      continue;
    }
    if (!copy.status().IsNotFound()) return copy.status();
    auto pinned = LoadSummary(cp.manifest_version());
    if (!pinned.ok()) {
      if (!pinned.status().IsNotFound()) return pinned.status();
      return Status::Corruption("checkpoint '" + cp.id() + "' pins manifest version " +
                                std::to_string(cp.manifest_version()) + ", but neither " +
                                copy_key + " nor " + ManifestObjectKey(cp.manifest_version()) +
                                " exists");
    }
    r.pinned.push_back(*pinned);
    r.prune_below = std::min(r.prune_below, cp.manifest_version());
  }
  return r;
}

Status GarbageCollector::DeleteBatch(std::vector<ObjectInfo>* batch, uint64_t* count,
                                     GcPassStats* pass, bool force) {
  if (batch->empty() || (!force && batch->size() < options_.delete_batch_size)) {
    return Status::OK();
  }
  RETURN_IF_ERROR(CheckCancelled());
  std::vector<std::string> keys;
  keys.reserve(batch->size());
  for (const auto& obj : *batch) keys.push_back(obj.key);
  RETURN_IF_ERROR(store_->DeleteMany(keys).WithContext("GC deleting " +
                                                       std::to_string(keys.size()) + " objects"));
  *count += batch->size();
  for (const auto& obj : *batch) {
    pass->bytes_reclaimed += obj.size;
    if (pass->deleted_keys.size() < options_.max_recorded_keys) {
      pass->deleted_keys.push_back(obj.key);
    }
  }
  batch->clear();
  return Status::OK();
}

Status GarbageCollector::PruneManifests(const Retained& retained, GcPassStats* pass) {
  std::vector<ObjectInfo> victims;
  for (const auto& obj : retained.listed_manifests) {
    if (*ParseManifestObjectKey(obj.key) < retained.prune_below) victims.push_back(obj);
  }
  pass->boundary = retained.boundary;
  if (victims.empty()) return Status::OK();
  // The boundary moves first: from then on no process trusts a probe that ends below it, and
  // no commit there counts (docs/design.md §3).
  RETURN_IF_ERROR(manifests_->RaiseBoundary(retained.prune_below));
  pass->boundary = std::max(retained.boundary, retained.prune_below);
  std::vector<ObjectInfo> batch;
  for (auto& obj : victims) {
    batch.push_back(std::move(obj));
    RETURN_IF_ERROR(DeleteBatch(&batch, &pass->manifests_deleted, pass, false));
  }
  RETURN_IF_ERROR(DeleteBatch(&batch, &pass->manifests_deleted, pass, true));
  cache_.erase(cache_.begin(), cache_.lower_bound(retained.prune_below));
  // Keep the LATEST hint above the boundary so that fresh readers need no LIST (best effort).
  std::string hint;
  PutFixed64(&hint, retained.latest_version);
  auto ignored = store_->Put("manifest/LATEST", hint);
  (void)ignored;
  return Status::OK();
}

Status GarbageCollector::CollectSsts(const Retained& retained, const std::set<std::string>& in_use,
                                     uint64_t now_micros, const proto::DbSettings& settings,
                                     GcPassStats* pass) {
  std::set<std::string> referenced(in_use.begin(), in_use.end());
  for (const auto* list : {&retained.manifests, &retained.pinned}) {
    for (const auto& s : *list) referenced.insert(s->ssts.begin(), s->ssts.end());
  }
  // An SST younger than this may belong to a flush or compaction that has not committed yet.
  const uint64_t created_before =
      SaturatingSub(now_micros, settings.gc_min_age_micros() + settings.max_clock_skew_micros());
  std::vector<ObjectInfo> batch;
  std::string after;
  while (true) {
    RETURN_IF_ERROR(CheckCancelled());
    ASSIGN_OR_RETURN(ListResult page, store_->List(kSstPrefix, after, options_.list_page_size));
    for (auto& obj : page.objects) {
      if (referenced.count(obj.key)) continue;
      auto created = ParseSstCreateMicros(obj.key);
      if (!created.ok()) {
        LOG_WARN("GC keeps {}: {}", obj.key, created.status().ToString());
        continue;
      }
      if (*created >= created_before) continue;
      batch.push_back(obj);
      RETURN_IF_ERROR(DeleteBatch(&batch, &pass->ssts_deleted, pass, false));
    }
    if (!page.truncated || page.objects.empty()) break;
    after = page.objects.back().key;
  }
  return DeleteBatch(&batch, &pass->ssts_deleted, pass, true);
}

Status GarbageCollector::CollectWal(const Retained& retained, GcPassStats* pass) {
  // Every retained manifest needs its WAL from its replay point on (the latest also everything
  // after next_wal_id: the live tail). A pinned manifest needs [replay_point, next_wal_id).
  uint64_t keep_from = std::numeric_limits<uint64_t>::max();
  for (const auto& s : retained.manifests) keep_from = std::min(keep_from, s->replay_point);
  auto pinned_needs = [&](uint64_t id) {
    return std::any_of(retained.pinned.begin(), retained.pinned.end(), [&](const SummaryPtr& s) {
      return id >= s->replay_point && id < s->next_wal_id;
    });
  };
  uint64_t first_kept = keep_from;  // the lowest id below keep_from this pass had to keep
  std::vector<ObjectInfo> batch;
  std::string after = wal_scanned_below_ > 0 ? WalObjectKey(wal_scanned_below_ - 1) : "";
  bool done = false;
  while (!done) {
    RETURN_IF_ERROR(CheckCancelled());
    ASSIGN_OR_RETURN(ListResult page, store_->List(kWalPrefix, after, options_.list_page_size));
    for (auto& obj : page.objects) {
      auto id = ParseWalObjectKey(obj.key);
      if (!id.ok()) {
        LOG_WARN("GC keeps {}: not a WAL object key", obj.key);
        continue;
      }
      if (*id >= keep_from) {
        done = true;
        break;
      }
      if (obj.size == kFenceBytes) continue;  // fences are never deleted (docs/design.md §4)
      if (pinned_needs(*id)) {
        first_kept = std::min(first_kept, *id);
        continue;
      }
      batch.push_back(obj);
      RETURN_IF_ERROR(DeleteBatch(&batch, &pass->wal_objects_deleted, pass, false));
    }
    if (!page.truncated || page.objects.empty()) break;
    after = page.objects.back().key;
  }
  RETURN_IF_ERROR(DeleteBatch(&batch, &pass->wal_objects_deleted, pass, true));
  if (keep_from != std::numeric_limits<uint64_t>::max()) {
    wal_scanned_below_ = std::max(wal_scanned_below_, first_kept);
  }
  return Status::OK();
}

Result<GcPassStats> GarbageCollector::RunOnce(const InUseSstsFn& in_use) {
  std::lock_guard<std::mutex> run(run_mu_);
  GcPassStats pass;
  Status s = RunPass(in_use, &pass);
  if (pass.objects_deleted() > 0) {
    LOG_INFO("GC of {}: deleted {} manifests, {} SSTs, {} WAL objects ({} bytes); boundary {}",
             store_->Describe(), pass.manifests_deleted, pass.ssts_deleted,
             pass.wal_objects_deleted, pass.bytes_reclaimed, pass.boundary);
  }
  {
    // A failed pass still counts what it deleted.
    std::lock_guard<std::mutex> lock(stats_mu_);
    totals_.runs += pass.runs;
    totals_.manifests_deleted += pass.manifests_deleted;
    totals_.ssts_deleted += pass.ssts_deleted;
    totals_.wal_objects_deleted += pass.wal_objects_deleted;
    totals_.bytes_reclaimed += pass.bytes_reclaimed;
    totals_.latest_version = std::max(totals_.latest_version, pass.latest_version);
    totals_.boundary = std::max(totals_.boundary, pass.boundary);
    if (s.ok()) totals_.retained_manifests = pass.retained_manifests;
  }
  if (!s.ok()) return s;
  return pass;
}

Status GarbageCollector::RunPass(const InUseSstsFn& in_use, GcPassStats* pass) {
  ASSIGN_OR_RETURN(Manifest latest, manifests_->LoadLatest());
  pass->latest_version = latest.version();
  if (options_.writer_epoch != 0 && latest.writer_epoch() != options_.writer_epoch) {
    return Status::Fenced("GC of writer epoch " + std::to_string(options_.writer_epoch) +
                          " stopped: the latest manifest (version " +
                          std::to_string(latest.version()) + ") has writer epoch " +
                          std::to_string(latest.writer_epoch()));
  }
  // Live readers are asked after the latest manifest was read: any Version they open later
  // comes from that manifest or a newer commit.
  const std::set<std::string> live = in_use ? in_use() : std::set<std::string>{};
  const uint64_t now = clock_->NowMicros();
  ASSIGN_OR_RETURN(Retained retained, ComputeRetained(latest, now));
  pass->retained_manifests = retained.manifests.size();
  // Manifests first: once they are gone, no manifest at or above the boundary references the
  // SSTs and WAL objects deleted next.
  RETURN_IF_ERROR(PruneManifests(retained, pass));
  RETURN_IF_ERROR(CollectSsts(retained, live, now, latest.settings(), pass));
  RETURN_IF_ERROR(CollectWal(retained, pass));
  pass->runs = 1;
  return Status::OK();
}

GcPassStats GarbageCollector::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return totals_;
}

}  // namespace cloudkv
