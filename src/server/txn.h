// SPDX-License-Identifier: Apache-2.0
// Txn: the context a command runs in. It reads through a view of the DB (the durable state,
// or the newest state for read-modify-write) overlaid with the command's (or EXEC's, or a
// write group's) own uncommitted writes, which it collects into one WriteBatch for the
// connection to commit. Reads see the transaction's writes in batch order, as the engine will
// apply them: a later Put beats an earlier DeleteRange and the other way round.
//
// Thread-safety: a Txn is used by one thread at a time.
#ifndef CLOUDKV_SERVER_TXN_H_
#define CLOUDKV_SERVER_TXN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudkv/db.h"
#include "server/key_encoding.h"

namespace cloudkv::server {

class WatchRegistry;

class Txn {
 public:
  // `db` is not owned and must outlive the Txn. read_unflushed: read the newest state (writes
  // applied to memory, durable or not) instead of the durable one. one_read: the command reads
  // at most once (kCmdOneRead), so a durable read needs no snapshot to be consistent.
  Txn(DB* db, bool read_unflushed, uint64_t now_ms, bool one_read = false);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  uint64_t now_ms() const { return now_ms_; }
  // A transaction shared by consecutive commands (a write group) takes each one's start time.
  void set_now_ms(uint64_t now_ms) { now_ms_ = now_ms; }
  // Forgets every read and write, to run again from scratch (the batch keeps its buffer).
  void Reset(uint64_t now_ms);

  // Live metadata of a key (absent or expired gives nullopt); errors are I/O or Corruption.
  Result<std::optional<Metadata>> GetMeta(std::string_view user_key);
  void PutMeta(std::string_view user_key, const Metadata& meta);
  // PutMeta of a string value, without building a Metadata.
  void PutString(std::string_view user_key, std::string_view value, uint64_t expire_at_ms);
  void DeleteMeta(std::string_view user_key);
  // Deletes a live key whose metadata is `meta`: its metadata record and, for a collection
  // (hash, list, set, zset), the range of its version's records (one DeleteRange).
  void DeleteKey(std::string_view user_key, const Metadata& meta);
  // The value of an internal key as this transaction sees it; nullopt if absent. Errors are
  // the engine's (IOError, Corruption, ...).
  Result<std::optional<std::string>> GetRaw(std::string_view internal_key);
  void PutRaw(const std::string& internal_key, std::string_view value);
  void DeleteRaw(const std::string& internal_key);
  // Deletes every internal key in [begin, end) (DB::DeleteRange semantics, in batch order).
  // REQUIRES: begin <= end.
  void DeleteRangeRaw(const std::string& begin, const std::string& end);
  // Deletes every user key and hash field (FLUSHDB): one range deletion.
  void DeleteAll();

  // Visits internal keys in [lower, upper) in order (from `start_after`, exclusive, if set),
  // merging the overlay, until `visit` returns false. Errors are the engine iterator's.
  Status Scan(const std::string& lower, const std::string& upper,
              const std::optional<std::string>& start_after,
              const std::function<bool(std::string_view key, std::string_view value)>& visit);

  // The same in descending order (from the last key below `upper`).
  Status ScanReverse(
      const std::string& lower, const std::string& upper,
      const std::function<bool(std::string_view key, std::string_view value)>& visit);

  // Records this transaction has read so far: point lookups plus entries Scan and
  // ScanReverse visited (what the docs' cost tables count; tests assert on it).
  uint64_t records_read() const { return records_read_; }

  const WriteBatch& batch() const { return batch_; }
  // Bumps the WATCH versions of every key this transaction wrote (all keys after FLUSHDB).
  // REQUIRES: the batch is applied and the keys' locks are held.
  void TouchWatches(WatchRegistry* watches) const;

 private:
  ReadOptions MakeReadOptions();
  // Brings overlay_ and deleted_ranges_ up to date with the batch. Writes only append to the
  // batch; the overlay is built from it when something reads, so a transaction that only
  // writes (SET, MSET, a group of them) never builds it.
  void Materialize();
  // Whether an internal key is in a range this transaction deleted (and not written since:
  // a later write is in overlay_, which is consulted first). O(log ranges).
  bool InDeletedRange(std::string_view internal_key) const;
  // Adds [begin, end) to deleted_ranges_, merging it with the ranges it overlaps or touches.
  void AddDeletedRange(std::string_view begin, std::string_view end);

  DB* const db_;
  const bool read_unflushed_;
  const bool one_read_;
  uint64_t now_ms_;
  int reads_ = 0;
  const Snapshot* snapshot_ = nullptr;
  bool snapshot_taken_ = false;

  std::map<std::string, std::optional<std::string>, std::less<>> overlay_;
  // The union of the ranges deleted, as disjoint [begin, end) by begin: DEL of many hashes
  // adds one range each, and every read looks a key up here.
  std::map<std::string, std::string, std::less<>> deleted_ranges_;
  WriteBatch batch_;
  uint32_t materialized_count_ = 0;  // records of batch_ reflected in the overlay
  size_t materialized_bytes_ = 0;    // their encoded bytes
  bool touched_all_ = false;
  uint64_t records_read_ = 0;
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_TXN_H_
