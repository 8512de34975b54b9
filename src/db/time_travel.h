// SPDX-License-Identifier: Apache-2.0
// Reading the past (docs/design.md §10, docs/time-travel.md): finding the state of a database at
// a ReadPoint from the objects in its store.
//
// The state at a point is a base manifest (its SSTs) plus the WAL batches of the database's
// history after the base's last_sequence up to the point. The history is exactly what
// recovery applies: ReplayWal from the base's replay_point with its replay_epoch as the oldest
// epoch, skipping objects of an epoch older than one already seen (a fenced writer's late
// uploads), up to the first missing id. Of those batches, a time point T keeps the ones whose
// commit time is <= T, a sequence point S the ones with sequence <= S. Commit times and
// sequences both grow along the history, so either is a prefix of it.
//
// Thread-safety: the functions share no state.
#ifndef CLOUDKV_DB_TIME_TRAVEL_H_
#define CLOUDKV_DB_TIME_TRAVEL_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "cloudkv/db.h"
#include "cloudkv/read_point.h"
#include "db/manifest.h"
#include "db/memtable.h"
#include "format/wal_format.h"

namespace cloudkv {

struct PastState {
  Manifest base;                    // the manifest whose SSTs the state reads
  SequenceNumber sequence;          // read at this sequence
  uint64_t commit_time_micros = 0;  // of the newest write of the state (0: none known)
  // True when no write the history gains later can change the state (the replay saw a write
  // past the point): a view of it may be cached. A time point after the newest write may
  // still gain writes whose uploads are in flight.
  bool final = false;
};

// Where the history currently ends, as a read-only open would find it: every write with
// sequence <= `sequence` is in the SSTs of `latest` or in a WAL object below `wal_end` (the
// first missing id). Errors: Corruption, IOError, as any read of the store.
struct HistoryEnd {
  SequenceNumber sequence = 0;
  uint64_t wal_end = 0;
};
Result<HistoryEnd> FindHistoryEnd(ObjectStore* store, const Manifest& latest);

// Loads the state at `point` into `mem` (which must be empty) and returns its base. Errors:
//   InvalidArgument  a time in the future; a sequence not written yet (naming the last); a
//                    point before the history window or before the database was created (the
//                    message states the oldest available point).
//   NotFound         no database; no such checkpoint (or it expired), naming the ones there.
//   Busy             GC pruned the point's manifest while it was being read (try again).
//   Corruption, IOError  as any read of the store.
Result<PastState> LoadPastState(ObjectStore* store, ManifestStore* manifests, uint64_t now_micros,
                                const ReadPoint& point, MemTable* mem);

// The same, handing each batch of the history up to the point to `apply` (in WAL id order,
// which is not always sequence order) instead of a memtable. For a sequence point, a batch
// may extend past the point: readers must read at PastState::sequence.
using PastBatchFn = std::function<Status(const WalBatch& batch)>;
Result<PastState> LoadPastState(ObjectStore* store, ManifestStore* manifests, uint64_t now_micros,
                                const ReadPoint& point, const PastBatchFn& apply);

// An iterator of `view` (a DB opened at a past point) that keeps the view open, and is
// destroyed before it.
std::unique_ptr<Iterator> NewPastIterator(std::unique_ptr<Iterator> inner,
                                          std::shared_ptr<DB> view);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_TIME_TRAVEL_H_
