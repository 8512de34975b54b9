// SPDX-License-Identifier: Apache-2.0
// GarbageCollector: deletes the objects of a database that nothing can need any more
// (docs/design.md §10, docs/engine.md "Garbage collection"). It depends only on the object store,
// the manifest protocol and a clock, so the writer runs it in-process and `cloudkv gc` runs the
// same code.
//
// One pass (RunOnce):
//   1. Reads the latest manifest. A writer whose epoch was replaced gets Fenced and deletes
//      nothing. Retention settings come from that manifest, never from the caller.
//   2. Retained manifests: the latest; every manifest committed within
//      W = max(history_retention, gc_min_age) + max_clock_skew; the newest one committed before
//      that (the state at the window's start); and every manifest a live checkpoint pins.
//   3. Prunes manifests as a prefix below the oldest retained version: raises manifest/BOUNDARY
//      first, then deletes (docs/design.md §3).
//   4. Deletes SSTs under sst/ that no retained manifest references, that are not in the
//      caller's in-use set, and whose name says they were created more than
//      gc_min_age + max_clock_skew ago. A name that does not parse is never deleted.
//   5. Deletes WAL objects below every retained manifest's replay point and outside every
//      pinned WAL range, except fences (recognised by their fixed size), which are never deleted.
//
// Thread-safety: RunOnce calls are serialised internally; stats() may be called at any time.
#ifndef CLOUDKV_DB_GC_H_
#define CLOUDKV_DB_GC_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cloudkv/clock.h"
#include "cloudkv/object_store.h"
#include "db/manifest.h"

namespace cloudkv {

struct GarbageCollectorOptions {
  // The caller's writer epoch; 0 for a process that is not the writer (`cloudkv gc`, a
  // read-only open). A writer whose epoch is no longer the latest's gets Fenced.
  uint64_t writer_epoch = 0;
  // Keys per DeleteMany request (S3 accepts at most 1000).
  size_t delete_batch_size = 1000;
  // Keys per LIST page.
  size_t list_page_size = 1000;
  // Parsed manifests kept across passes (they are immutable); beyond this they are re-read.
  size_t max_cached_manifests = 20'000;
  // Keep the keys deleted in GcPassStats::deleted_keys (for `cloudkv gc`), at most this many.
  size_t max_recorded_keys = 0;
};

// What one pass did (or, in GarbageCollector::stats(), all passes together).
struct GcPassStats {
  uint64_t runs = 0;
  uint64_t manifests_deleted = 0;
  uint64_t ssts_deleted = 0;
  uint64_t wal_objects_deleted = 0;
  uint64_t bytes_reclaimed = 0;  // sizes as LIST reported them
  uint64_t latest_version = 0;   // the latest manifest the pass read
  uint64_t boundary = 0;         // manifest/BOUNDARY after the pass (0: never set)
  uint64_t retained_manifests = 0;
  std::vector<std::string> deleted_keys;  // up to options.max_recorded_keys

  uint64_t objects_deleted() const {
    return manifests_deleted + ssts_deleted + wal_objects_deleted;
  }
};

// SST object keys a live reader of this process still uses (Versions held by iterators and
// snapshots). Called once per pass, after the latest manifest was read.
using InUseSstsFn = std::function<std::set<std::string>()>;

class GarbageCollector {
 public:
  // `manifests` is borrowed and must outlive the collector.
  GarbageCollector(std::shared_ptr<ObjectStore> store, ManifestStore* manifests,
                   std::shared_ptr<Clock> clock, GarbageCollectorOptions options = {});

  // One pass. Errors: Fenced (a newer writer epoch; nothing deleted), Corruption (a damaged
  // manifest or checkpoint copy, named; nothing deleted), IOError from the store (the pass
  // stops; what was deleted stays deleted, which is always safe).
  Result<GcPassStats> RunOnce(const InUseSstsFn& in_use = nullptr);

  // Totals over all passes of this collector (deleted_keys stays empty).
  GcPassStats stats() const;

  // Makes the running pass (and every later one) stop at its next LIST page, manifest read or
  // delete batch with Busy, so closing a database does not wait for a long pass.
  void Cancel() { cancelled_ = true; }

  // The creation time encoded in an SST object key (sst/<13 hex µs>-<16 hex>.sst);
  // InvalidArgument for any other spelling.
  static Result<uint64_t> ParseSstCreateMicros(std::string_view key);

 private:
  // What a pass needs of one manifest (manifests are immutable, so this is cached).
  struct ManifestSummary {
    uint64_t version = 0;
    uint64_t commit_time_micros = 0;
    uint64_t replay_point = 0;
    uint64_t next_wal_id = 0;
    std::vector<std::string> ssts;  // SSTs of this DB (db_url empty)
  };
  using SummaryPtr = std::shared_ptr<const ManifestSummary>;
  struct Retained;

  Status RunPass(const InUseSstsFn& in_use, GcPassStats* pass);
  Status CheckCancelled() const;
  static SummaryPtr Summarize(const Manifest& m);
  Result<SummaryPtr> LoadSummary(uint64_t version);
  Result<Retained> ComputeRetained(const Manifest& latest, uint64_t now_micros);
  Status PruneManifests(const Retained& retained, GcPassStats* pass);
  Status CollectSsts(const Retained& retained, const std::set<std::string>& in_use,
                     uint64_t now_micros, const proto::DbSettings& settings, GcPassStats* pass);
  Status CollectWal(const Retained& retained, GcPassStats* pass);
  // Deletes `keys` in batches; counts into `*count` and `pass`.
  Status DeleteBatch(std::vector<ObjectInfo>* batch, uint64_t* count, GcPassStats* pass,
                     bool force);

  const std::shared_ptr<ObjectStore> store_;
  ManifestStore* const manifests_;
  const std::shared_ptr<Clock> clock_;
  const GarbageCollectorOptions options_;

  std::mutex run_mu_;  // one pass at a time; guards the caches below
  std::map<uint64_t, SummaryPtr> cache_;
  // Every WAL id below this is deleted or a fence (learned by an earlier pass): the WAL LIST
  // starts here instead of walking all fences ever written.
  uint64_t wal_scanned_below_ = 0;

  std::atomic<bool> cancelled_{false};
  mutable std::mutex stats_mu_;
  GcPassStats totals_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_GC_H_
