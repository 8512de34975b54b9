// SPDX-License-Identifier: Apache-2.0
// The WAL side of writer fencing (docs/design.md §4) as plain synchronous functions, shared by the
// engine (DBImpl, WalWriter) and the deterministic protocol simulation.
#ifndef CLOUDKV_DB_WAL_PROTOCOL_H_
#define CLOUDKV_DB_WAL_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <string>

#include "cloudkv/object_store.h"
#include "format/wal_format.h"

namespace cloudkv {

// Outcome of one attempt to store a WAL object at its id with create-if-absent.
enum class WalPlacement {
  kStored,           // stored now, or found stored by our own earlier attempt (same nonce)
  kRetry,            // the request failed; retry the same bytes
  kOccupiedByOlder,  // an older epoch's late upload holds the id: move the segment to a new id
  kFenced,           // a newer epoch holds the id: this writer is fenced
  kFailed,           // a permanent error (not retryable: bad request, failed fsync, unreadable
                     // object at the id)
};

// One attempt. `error` receives the reason for kRetry/kFenced/kFailed, and the older epoch's
// description for kOccupiedByOlder.
WalPlacement PlaceWalObject(ObjectStore* store, uint64_t id, uint64_t epoch, uint64_t nonce,
                            const std::string& bytes, Status* error);

struct WalReplayOptions {
  // The oldest epoch whose objects are applied: the manifest's replay_epoch, the epoch of the
  // writer that set the replay point. Objects of older epochs from the replay point on are late
  // uploads of writers fenced before that point was set; none of them was acknowledged.
  uint64_t min_epoch = 0;
  // Write a fence with `epoch` into the first missing id (writers); readers only read.
  bool fence = false;
  uint64_t epoch = 0;
  uint64_t fence_nonce = 0;
  // Readers only (not with fence): asked after each object `apply` received; true ends the
  // replay there (a past read that has seen everything up to its point).
  std::function<bool()> stop;
};

// Replays WAL objects from `from_id` upward until the first missing id (docs/design.md §4): calls
// `apply` for each batch of each live object in id order, skipping objects of an older epoch
// than options.min_epoch or than one already seen (late uploads of fenced writers). With
// options.fence, writes the fence into the hole (replaying an object that landed there meanwhile
// and moving on). Returns the first id after the fence (or the first missing id for readers).
// Fenced if a newer epoch appears while fencing.
Result<uint64_t> ReplayWal(ObjectStore* store, uint64_t from_id, const WalReplayOptions& options,
                           const std::function<Status(const WalObject&)>& apply);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_WAL_PROTOCOL_H_
