// SPDX-License-Identifier: Apache-2.0
// Checkpoints and the DB settings as manifest commits (docs/time-travel.md, docs/design.md §10).
//
// A checkpoint is an entry in the manifest (proto Checkpoint) naming the manifest version V it
// pins (the version that added it) and the sequence its state reaches, plus a copy of manifest V
// at checkpoint/<id>.manifest, so that GC can prune manifest/ below V while the pin holds. The
// copy is written before V is stored (rewritten on every commit attempt), so a committed entry
// always has its copy. V's next_wal_id is raised to cover the WAL ids holding the checkpoint's
// writes, which GC keeps for a pinned manifest ([replay_point, next_wal_id)).
//
// These commits change no epoch: the writer, `cloudkv checkpoint` and `cloudkv config` make them
// alike, and a writer's next commit recomputes its edit on top of them.
//
// Thread-safety: the functions share no state.
#ifndef CLOUDKV_DB_CHECKPOINT_H_
#define CLOUDKV_DB_CHECKPOINT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/checkpoint.h"
#include "db/manifest.h"
#include "format/dbformat.h"

namespace cloudkv {

// At most this many checkpoints per database (each costs manifest bytes on every commit).
inline constexpr size_t kMaxCheckpoints = 1000;
// Longest history_retention accepted (10 years).
inline constexpr uint64_t kMaxHistoryRetentionMicros = 10ull * 366 * 86400 * 1'000'000;

// 1..128 characters of [A-Za-z0-9._-]; InvalidArgument otherwise.
Status ValidateCheckpointName(std::string_view name);

std::string CheckpointCopyKey(std::string_view id);

// The state a new checkpoint captures: every write of the history with sequence <= sequence,
// all of them in SSTs or in WAL ids below wal_end.
struct CheckpointTarget {
  SequenceNumber sequence = 0;
  uint64_t wal_end = 0;
};

// Commits a checkpoint on top of the latest manifest (starting from `base`). The entry's
// sequence is max(target.sequence, the pinned manifest's last_sequence). Errors:
// InvalidArgument (a bad name, a live checkpoint of that name exists, kMaxCheckpoints reached,
// an expiry not in the future), Busy, and the store's errors.
Result<CheckpointInfo> CommitCheckpoint(ObjectStore* store, ManifestStore* manifests,
                                        uint64_t now_micros, const Manifest& base,
                                        std::string_view name,
                                        std::optional<uint64_t> expire_time_micros,
                                        const CheckpointTarget& target);

// Removes the checkpoint named `name` (and drops expired ones), then deletes its copy.
// NotFound if there is no live checkpoint of that name.
Status CommitDeleteCheckpoint(ObjectStore* store, ManifestStore* manifests, uint64_t now_micros,
                              const Manifest& base, std::string_view name);

// The live (not expired) checkpoints of `latest`, oldest first.
std::vector<CheckpointInfo> LiveCheckpoints(const Manifest& latest, uint64_t now_micros);

// A checkpoint to read: the pinned manifest (its copy, or the version itself) and the sequence.
struct CheckpointView {
  Manifest pinned;
  SequenceNumber sequence = 0;
};
// NotFound (naming the live checkpoints) when `latest` has no live checkpoint `name`;
// Corruption when neither the copy nor the pinned version exists.
Result<CheckpointView> LoadCheckpoint(ObjectStore* store, ManifestStore* manifests,
                                      const Manifest& latest, std::string_view name,
                                      uint64_t now_micros);

DbSettings SettingsOf(const Manifest& m);

// Sets history_retention in the manifest. InvalidArgument above kMaxHistoryRetentionMicros.
Result<Manifest> CommitHistoryRetention(ManifestStore* manifests, const Manifest& base,
                                        uint64_t retention_micros);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_CHECKPOINT_H_
