// The manifest protocol (DESIGN.md §3, docs/format-manifest.md).
//
// A manifest version v is the object manifest/<v as 20 digits>.manifest, written once with
// create-if-absent. The latest version is found by probing forward from a known version (or the
// manifest/LATEST hint, or a LIST when neither exists) until NotFound. Commit writes v+1; on a
// lost race the edit is recomputed from the new latest. An ambiguous commit (lost response) is
// resolved by reading the object back and comparing its nonce.
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
#include "proto/manifest.pb.h"

namespace cloudkv {

using Manifest = proto::ManifestProto;

// Format version written by this binary, and the oldest it can read.
constexpr uint32_t kManifestFormatVersion = 1;
// Readers older than this must refuse what this binary writes.
constexpr uint32_t kManifestMinReaderVersion = 1;

std::string ManifestObjectKey(uint64_t version);
// Parses "manifest/<digits>.manifest"; NotFound-free: InvalidArgument if not a manifest key.
Result<uint64_t> ParseManifestObjectKey(std::string_view key);

std::string EncodeManifest(const Manifest& manifest);
// Corruption naming `object_key` for any damage; NotSupported if min_reader_version is newer
// than this binary.
Result<Manifest> DecodeManifest(std::string_view object_key, std::string_view data);

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

  // True if version `v` exists (one GET; used to confirm the writer's epoch).
  Result<bool> Exists(uint64_t version);

  // Commits `edit` on top of the latest manifest (starting from `base`, a recent one). Returns
  // the committed manifest. PreconditionFailed never escapes: lost races are retried with the
  // edit recomputed; after max_commit_conflicts, Busy.
  Result<Manifest> Commit(const Manifest& base, const ManifestEdit& edit,
                          std::string_view committer);

  // Creates version 1 of a new database. PreconditionFailed if a manifest 1 already exists.
  Result<Manifest> Create(const Manifest& initial);

 private:
  // Writes `m` (version m.version()) if absent. OK: stored by us. PreconditionFailed: another
  // commit owns that version. Resolves lost responses by reading back the nonce.
  Status PutIfAbsent(const Manifest& m);
  Result<uint64_t> FindStartVersion(uint64_t hint);
  void UpdateHint(uint64_t version);

  const std::shared_ptr<ObjectStore> store_;
  const std::shared_ptr<Clock> clock_;
  const ManifestStoreOptions options_;
  std::atomic<uint64_t> latest_seen_{0};
};

// Prints a manifest as JSON (for `cloudkv inspect manifest`).
std::string ManifestToJson(const Manifest& manifest);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_MANIFEST_H_
