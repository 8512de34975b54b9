// Keyspace: how Redis keys, types and expiry map onto cloudkv's flat, ordered key space, and
// the transaction context every command runs in. The encoding is specified in docs/server.md:
//
//   metadata record   'M' + user_key                  -> type(1) expire_at_ms(fixed64) payload
//       string payload = the value bytes
//       hash payload   = version(fixed64) field_count(fixed64)
//   hash field        'S' + version(big-endian 8) + field  -> field value
//
// Only metadata records carry user keys, so SCAN/KEYS/DBSIZE iterate [M, N) alone. A hash's
// fields live under a version unique in the database's lifetime (VersionAllocator), so no read
// can reach the fields of a deleted hash; DEL/UNLINK (and expiry set in the past) also cover
// the version's field range with one DeleteRange so compaction can reclaim them. FLUSHDB is
// one DeleteRange over the whole key space.
//
// Thread-safety: Txn is used by one thread. KeyLocks, WatchRegistry, VersionAllocator and
// DurabilityTracker are thread-safe.
#ifndef CLOUDKV_SERVER_KEYSPACE_H_
#define CLOUDKV_SERVER_KEYSPACE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cloudkv/compaction_filter.h"
#include "cloudkv/db.h"

namespace cloudkv::server {

enum class ValueType : uint8_t { kString = 1, kHash = 2 };

inline constexpr char kMetaPrefix = 'M';
inline constexpr char kMetaEnd = 'N';  // exclusive upper bound of metadata records
inline constexpr char kFieldPrefix = 'S';

struct Metadata {
  ValueType type = ValueType::kString;
  uint64_t expire_at_ms = 0;  // 0 = no expiry
  std::string value;          // strings
  uint64_t version = 0;       // hashes
  uint64_t count = 0;         // hashes: number of fields

  bool ExpiredAt(uint64_t now_ms) const { return expire_at_ms != 0 && expire_at_ms <= now_ms; }
};

std::string MetaKey(std::string_view user_key);
std::string FieldKey(uint64_t version, std::string_view field);
// Lower bound of a hash version's fields; the upper bound is FieldPrefix(version + 1).
std::string FieldPrefix(uint64_t version);
std::string EncodeMetadata(const Metadata& meta);
// Corruption (naming the key) if the bytes are not a metadata record.
Result<Metadata> DecodeMetadata(std::string_view user_key, std::string_view bytes);
// The same, taking the bytes: a string's value reuses their buffer instead of a copy.
Result<Metadata> DecodeOwnedMetadata(std::string_view user_key, std::string&& bytes);

uint64_t NowMs();

// The engine's compaction filter for this encoding: a metadata record whose expiry has passed
// becomes a tombstone when compaction meets it (docs/design.md §9), so expired keys stop taking
// space without a read or a DEL. Other records are kept (a hash's fields are reached only
// through its metadata; DEL and past EXPIRE range-delete them).
std::shared_ptr<const CompactionFilter> NewExpiryCompactionFilter();

// Hands out hash versions unique over the database's life: the writer epoch (bumped on every
// writer open, docs/design.md §4) in the high 24 bits and a per-process counter below it.
class VersionAllocator {
 public:
  explicit VersionAllocator(uint64_t writer_epoch);
  uint64_t Next();

 private:
  std::atomic<uint64_t> next_;
};

// Striped per-key mutexes serializing every write (and the reads of read-modify-write
// commands) on the same key. Held while reading and applying to memory, never until durable.
class KeyLocks {
 public:
  static constexpr size_t kStripes = 1024;

  static size_t StripeOf(std::string_view key);

  // A growing set of held stripes, released on destruction. Lock takes the first keys
  // blocking, in index order while holding nothing else (a command, EXEC, or the first
  // command of a write group); TryAdd adds more only with try_lock, so a thread that holds
  // stripes never waits for one and no deadlock is possible.
  class Set {
   public:
    explicit Set(KeyLocks* locks) : locks_(locks) {}
    ~Set() { Release(); }
    Set(const Set&) = delete;
    Set& operator=(const Set&) = delete;

    bool empty() const { return held_.empty(); }
    // REQUIRES: empty(). Blocks until every stripe of `keys` (every stripe if `all`) is held.
    void Lock(const std::vector<std::string_view>& keys, bool all);
    // Adds the stripes of `keys` without blocking; false (and nothing added) if another thread
    // holds one of them.
    bool TryAdd(const std::vector<std::string_view>& keys);
    void Release();

   private:
    KeyLocks* const locks_;
    std::vector<size_t> held_;
    std::vector<bool> is_held_ = std::vector<bool>(kStripes);
  };

 private:
  std::unique_ptr<std::mutex[]> mu_ = std::make_unique<std::mutex[]>(kStripes);
};

// Tracks modifications of WATCHed keys: every write to a watched key (same value and expiry
// changes included) bumps its version; EXEC compares against the version seen at WATCH.
class WatchRegistry {
 public:
  uint64_t Watch(const std::string& key);
  void Unwatch(const std::string& key);
  uint64_t Version(const std::string& key);
  // Called (under the keys' locks) when a transaction writes these user keys.
  void Touch(const std::vector<std::string>& keys);
  void TouchAll();
  // Whether any key is watched now. A write that finds none after it is applied need not
  // touch: a later WATCH reads the new state.
  bool empty() const { return entries_.load() == 0; }

 private:
  struct Entry {
    uint64_t version = 0;
    int watchers = 0;
  };
  std::atomic<size_t> entries_{0};
  std::mutex mu_;
  std::unordered_map<std::string, Entry> watched_;
  uint64_t epoch_ = 0;  // bumped by TouchAll; folded into every version
};

// Submits batches to DB::WriteAsync in "ticket" order and tracks which tickets are durable,
// so that a reply computed from non-durable state can wait until that state is durable.
class DurabilityTracker {
 public:
  // What waits for a write (or for a ticket) to be durable. Done runs exactly once, on an
  // engine thread or on the submitting thread; the waiter must stay valid until then.
  class Waiter {
   public:
    virtual ~Waiter() = default;
    virtual void Done(Status status) = 0;

   private:
    friend class DurabilityTracker;
    uint64_t ticket_ = 0;
  };

  explicit DurabilityTracker(DB* db) : db_(db) {}
  // Applies the batch to memory now; `waiter->Done` runs once it is durable or failed.
  void Submit(const WriteBatch& batch, Waiter* waiter);
  // Every write applied to memory so far has a ticket <= this.
  uint64_t LastTicket() const { return last_ticket_.load(std::memory_order_acquire); }
  // Calls `waiter->Done(OK)` once every ticket <= gate is done: at once on this thread if
  // already so, else on an engine thread.
  void WhenDurable(uint64_t gate, Waiter* waiter);
  // Blocks until every submitted write is done (for shutdown).
  void Drain();
  uint64_t InFlight() const;

 private:
  void Complete(uint64_t ticket);

  DB* const db_;
  std::mutex submit_mu_;  // orders tickets like the engine's sequence numbers
  std::atomic<uint64_t> last_ticket_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t durable_ = 0;           // every ticket <= durable_ is done
  std::set<uint64_t> done_early_;  // completed above durable_ + 1 (out of order; rare)
  std::multimap<uint64_t, Waiter*> waiters_;
};

// The context a command runs in: reads through a view of the DB (durable, or newest state for
// read-modify-write) overlaid with the command's (or EXEC's) own uncommitted writes, which it
// collects into one WriteBatch.
class Txn {
 public:
  // one_read: the command reads at most once (kCmdOneRead), so a durable read needs no
  // snapshot to be consistent.
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
  // Deletes a live key whose metadata is `meta`: its metadata record and, for a hash, the
  // range of its version's fields (one DeleteRange).
  void DeleteKey(std::string_view user_key, const Metadata& meta);
  Result<std::optional<std::string>> GetRaw(std::string_view internal_key);
  void PutRaw(const std::string& internal_key, std::string_view value);
  void DeleteRaw(const std::string& internal_key);
  // Deletes every internal key in [begin, end) (DB::DeleteRange semantics, in batch order).
  // REQUIRES: begin <= end.
  void DeleteRangeRaw(const std::string& begin, const std::string& end);
  // Deletes every user key and hash field (FLUSHDB): one range deletion.
  void DeleteAll();

  // Visits internal keys in [lower, upper) in order (from `start_after`, exclusive, if set),
  // merging the overlay, until `visit` returns false.
  Status Scan(const std::string& lower, const std::string& upper,
              const std::optional<std::string>& start_after,
              const std::function<bool(std::string_view key, std::string_view value)>& visit);

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

  DB* const db_;
  const bool read_unflushed_;
  const bool one_read_;
  uint64_t now_ms_;
  int reads_ = 0;
  const Snapshot* snapshot_ = nullptr;
  bool snapshot_taken_ = false;
  // Whether an internal key is in a range this transaction deleted (and not written since:
  // a later write is in overlay_, which is consulted first).
  bool InDeletedRange(std::string_view internal_key) const;

  std::map<std::string, std::optional<std::string>, std::less<>> overlay_;
  std::vector<std::pair<std::string, std::string>> deleted_ranges_;  // [begin, end)
  WriteBatch batch_;
  uint32_t materialized_count_ = 0;  // records of batch_ reflected in the overlay
  size_t materialized_bytes_ = 0;    // their encoded bytes
  bool touched_all_ = false;
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_KEYSPACE_H_
