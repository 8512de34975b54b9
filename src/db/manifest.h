// SPDX-License-Identifier: Apache-2.0
// The manifest protocol (docs/design.md §3, docs/format-manifest.md).
//
// A manifest version v is the object manifest/<v as 20 digits>.manifest, written once with
// create-if-absent. The latest version is found by probing forward from a known version (or the
// manifest/LATEST hint, or a LIST when neither exists) until NotFound. Commit writes v+1; on a
// lost race the edit is recomputed from the new latest. An ambiguous commit (lost response) is
// resolved by reading the object back and comparing its nonce.
//
// GC prunes old versions only as a prefix: it first raises manifest/BOUNDARY (the lowest
// version that may still exist, If-Match CAS) and then deletes the versions below it. Probing
// forward from a start point below the boundary could stop at a hole GC made, and a commit into
// such a hole would succeed with create-if-absent, so: LoadLatest checks the boundary unless its
// start point is provably above it (committed within gc_min_age, which GC always retains), and
// a commit that lands at or below the boundary counts as failed (docs/format-manifest.md).
//
// Thread-safety: ManifestStore is safe for concurrent use; it holds no lock across I/O.
#ifndef CLOUDKV_DB_MANIFEST_H_
#define CLOUDKV_DB_MANIFEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cloudkv/clock.h"
#include "cloudkv/object_store.h"
#include "format/manifest_format.h"

namespace cloudkv {

struct ManifestBoundary {
  uint64_t version = 0;  // 0: no boundary set yet (nothing was ever pruned)
  std::string etag;      // empty when absent
};

// An edit recomputed against the latest manifest on every attempt. It receives a copy of the
// latest (version already advanced to latest+1, nonce and commit time set) and mutates it.
// Returning a non-OK status aborts the commit with that status (e.g. Fenced, or an input of a
// compaction that is gone).
using ManifestEdit = std::function<Status(const Manifest& latest, Manifest* next)>;

struct ManifestStoreOptions {
  // Attempts of one put whose outcome is unknown (retryable errors) before giving up.
  int max_put_attempts = 8;
  // Commit attempts lost to other committers before Busy.
  int max_commit_conflicts = 64;
  uint64_t retry_backoff_micros = 20'000;
};

class ManifestStore {
 public:
  ManifestStore(std::shared_ptr<ObjectStore> store, std::shared_ptr<Clock> clock,
                ManifestStoreOptions options = {});

  // The latest manifest, probing forward from max(hint, last version seen by this object).
  // NotFound if the store holds no manifest (no database).
  Result<Manifest> LoadLatest(uint64_t hint = 0);

  // Reads one version. NotFound if absent.
  Result<Manifest> Load(uint64_t version);

  // True if version `v` exists (one GET).
  Result<bool> Exists(uint64_t version);

  // True if a version newer than `known` exists (used to confirm the writer's epoch): one GET
  // of known+1, plus a read of the boundary when `known` is old enough for GC to have pruned
  // known+1 (then a boundary above `known` means newer versions exist).
  Result<bool> NewerExists(const Manifest& known);

  // Commits `edit` on top of the latest manifest (starting from `base`, a recent one). Returns
  // the committed manifest. PreconditionFailed never escapes: lost races are retried with the
  // edit recomputed; after max_commit_conflicts, Busy.
  Result<Manifest> Commit(const Manifest& base, const ManifestEdit& edit,
                          std::string_view committer);

  // Creates version 1 of a new database. PreconditionFailed if a manifest 1 already exists.
  Result<Manifest> Create(const Manifest& initial);

  // Reads manifest/BOUNDARY (one GET). Absent: version 0. Corruption if damaged.
  Result<ManifestBoundary> ReadBoundary();

  // Raises the boundary to at least `version` with If-Match CAS (create-if-absent when there
  // is none), retrying lost races; OK also when it already was at or above `version`. Never
  // lowers it. REQUIRES: `version` <= a version known to exist (GC passes the oldest version it
  // retains), so the latest manifest always stays at or above the boundary.
  Status RaiseBoundary(uint64_t version);

 private:
  // Writes `m` (version m.version()) if absent. OK: stored by us. PreconditionFailed: another
  // commit owns that version. Resolves lost responses by reading back the nonce.
  Status PutIfAbsent(const Manifest& m);
  Result<uint64_t> FindStartVersion(uint64_t hint);
  // The largest version a LIST of manifest/ returns; NotFound when there is none.
  Result<uint64_t> ListLargestVersion();
  // True when no GC can have pruned versions above `m` by the time `now_micros`: `m` was
  // committed within its gc_min_age (less clock skew), and GC retains at least that window.
  static bool CommittedRecently(const Manifest& m, uint64_t now_micros);
  // Status of a commit of version `version` that was stored on top of `base`: OK, or
  // PreconditionFailed if it landed at or below the boundary (in a slot GC pruned).
  Status CheckAboveBoundary(const Manifest& base, uint64_t version);
  void UpdateHint(uint64_t version);

  const std::shared_ptr<ObjectStore> store_;
  const std::shared_ptr<Clock> clock_;
  const ManifestStoreOptions options_;
  std::atomic<uint64_t> latest_seen_{0};
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_MANIFEST_H_
