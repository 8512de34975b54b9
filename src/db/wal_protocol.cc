// SPDX-License-Identifier: Apache-2.0
#include "db/wal_protocol.h"

#include "util/status_macros.h"

namespace cloudkv {

WalPlacement PlaceWalObject(ObjectStore* store, uint64_t id, uint64_t epoch, uint64_t nonce,
                            const std::string& bytes, Status* error) {
  const std::string key = WalObjectKey(id);
  auto put = store->Put(key, bytes, PutOptions::IfAbsent());
  if (put.ok()) return WalPlacement::kStored;
  if (!put.status().IsPreconditionFailed()) {
    *error = put.status();
    // Only an error that says the same request may succeed is retried. A non-retryable one
    // (a failed fsync, no space, access denied) may have left the object visible but not
    // durable: a retry would find it, take it for our own stored upload and acknowledge writes
    // that a crash can still take back.
    if (!put.status().retryable()) return WalPlacement::kFailed;
    return WalPlacement::kRetry;
  }
  // The id is taken: by our own earlier attempt whose response was lost, by a newer writer's
  // fence, or by an older writer's upload that landed late.
  auto got = store->Get(key);
  if (!got.ok()) {
    *error = got.status();
    return WalPlacement::kRetry;  // the next attempt finds out who holds the id
  }
  auto obj = DecodeWalObject(key, got->data);
  if (!obj.ok()) {
    *error = obj.status();
    return WalPlacement::kFailed;
  }
  if (obj->epoch == epoch && obj->nonce == nonce) return WalPlacement::kStored;
  if (obj->epoch >= epoch) {
    *error = Status::Fenced("WAL object " + key + " holds epoch " + std::to_string(obj->epoch) +
                            "; this writer (epoch " + std::to_string(epoch) +
                            ") was replaced by a newer writer");
    return WalPlacement::kFenced;
  }
  *error = Status::PreconditionFailed(key + " holds a late upload of epoch " +
                                      std::to_string(obj->epoch));
  return WalPlacement::kOccupiedByOlder;
}

Result<uint64_t> ReplayWal(ObjectStore* store, uint64_t from_id, const WalReplayOptions& options,
                           const std::function<Status(const WalObject&)>& apply) {
  // Not 0: the first object at the replay point may be an older writer's late upload that the
  // writer which set the replay point never replayed (it fenced below it and moved on).
  uint64_t max_epoch_seen = options.min_epoch;
  uint64_t id = std::max<uint64_t>(from_id, 1);
  int fence_attempts = 0;
  constexpr int kMaxFenceAttempts = 20;
  while (true) {
    const std::string key = WalObjectKey(id);
    auto got = store->Get(key);
    if (!got.ok() && got.status().IsNotFound()) {
      if (!options.fence) return id;
      // The first missing id: put the fence in the hole, so a zombie writer's late upload to
      // this id fails.
      auto put = store->Put(key, EncodeFence(id, options.epoch, options.fence_nonce),
                            PutOptions::IfAbsent());
      if (put.ok()) return id + 1;
      if (!put.status().IsPreconditionFailed()) {
        if (put.status().retryable()) {
          // Lost response: our fence may have landed. Read it back below.
          got = store->Get(key);
          if (got.ok()) {
            auto obj = DecodeWalObject(key, got->data);
            if (obj.ok() && obj->fence && obj->epoch == options.epoch &&
                obj->nonce == options.fence_nonce) {
              return id + 1;
            }
          }
          if (!got.ok() && got.status().IsNotFound() && ++fence_attempts < kMaxFenceAttempts) {
            continue;  // the fence did not land: try again
          }
        }
        if (!got.ok()) return put.status().WithContext("writing the fence at " + key);
      } else {
        got = store->Get(key);  // an upload landed late: replay it and try the next id
      }
    }
    if (!got.ok()) return got.status().WithContext("replaying " + key);
    ASSIGN_OR_RETURN(WalObject obj, DecodeWalObject(key, got->data));
    if (options.fence && obj.epoch > options.epoch) {
      return Status::Fenced("a newer writer (epoch " + std::to_string(obj.epoch) +
                            ") took over while this one was opening");
    }
    if (options.fence && obj.epoch == options.epoch && obj.fence &&
        obj.nonce == options.fence_nonce) {
      return id + 1;  // our own fence, written by an attempt whose response was lost
    }
    if (obj.epoch >= max_epoch_seen) {
      max_epoch_seen = obj.epoch;
      if (!obj.fence) {
        RETURN_IF_ERROR(apply(obj));
        if (!options.fence && options.stop && options.stop()) return id + 1;
      }
    }
    id++;
  }
}

}  // namespace cloudkv
