// SPDX-License-Identifier: Apache-2.0
// WalWriter: group commit of WAL objects (docs/design.md §4–5).
//
// Batches are appended in sequence order (the DB calls Append under its write mutex) into a
// buffer. A flusher thread seals the buffer into a segment and uploads it as wal/<id>.wal with
// create-if-absent:
//   - at once when a durable waiter is queued and no upload is in flight,
//   - when the buffer reaches wal_max_bytes, or at the wal_flush_interval tick,
//   - never faster than max_wal_puts_per_second, with at most max_inflight uploads at a time.
// A failed upload is retried with the same bytes until it is stored or the writer learns it is
// fenced. An id found occupied by an older epoch's late upload is skipped and the segment moved
// to a new id. Acknowledgements are released strictly in segment order, and only when every
// id below the segment's id is stored, so a replay that stops at the first missing id never
// misses an acknowledged write.
//
// Thread-safety: all methods are thread-safe.
#ifndef CLOUDKV_DB_WAL_WRITER_H_
#define CLOUDKV_DB_WAL_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <set>
#include <thread>
#include <vector>

#include "cloudkv/clock.h"
#include "cloudkv/object_store.h"
#include "cloudkv/write_batch.h"
#include "format/dbformat.h"

namespace cloudkv {

class ThreadPool;

struct WalWriterOptions {
  size_t wal_max_bytes = 4 << 20;
  uint64_t flush_interval_micros = 100'000;
  double max_puts_per_second = 0;  // 0 = no cap
  int max_inflight = 4;
  int max_attempts = 0;  // 0 = until fenced or closed
  uint64_t retry_backoff_micros = 10'000;
  uint64_t max_retry_backoff_micros = 2'000'000;
};

struct WalWriterStats {
  uint64_t uploads = 0;
  uint64_t upload_bytes = 0;
  uint64_t retries = 0;
  uint64_t skipped_ids = 0;
  uint64_t batches = 0;
  uint64_t upload_micros_total = 0;
};

class WalWriter {
 public:
  using Callback = std::function<void(Status, SequenceNumber)>;

  // `first_id` is the first id this writer may use (after its fence); every id below it is
  // settled. `durable_sequence` is what is durable already (recovered state).
  WalWriter(std::shared_ptr<ObjectStore> store, std::shared_ptr<Clock> clock, ThreadPool* pool,
            uint64_t epoch, uint64_t first_id, SequenceNumber durable_sequence,
            WalWriterOptions options);
  // Close() must have been called.
  ~WalWriter();

  // Queues a batch whose records have sequences [first_seq, last_seq]. REQUIRES: called in
  // sequence order. `durable_waiter` says someone waits for it (upload at once if idle).
  // `done`, if set, is called once the batch is durable or has failed.
  void Append(SequenceNumber first_seq, SequenceNumber last_seq, uint64_t commit_time_micros,
              const WriteBatch& batch, bool durable_waiter, Callback done);

  // Seals the buffer into a segment (if non-empty) and returns the first id that later
  // appends can land in: every batch appended before this call is in an id below it.
  uint64_t Seal();

  // Waits, without a timeout, until `seq` is durable; if the writer fails or is closed first,
  // returns health().
  Status WaitForDurable(SequenceNumber seq);
  SequenceNumber durable_sequence() const;
  // OK, or why the writer stopped accepting writes (Fenced, or a permanent upload error).
  Status health() const;
  // Bytes appended but not yet durable.
  size_t unflushed_bytes() const;
  uint64_t next_id() const;
  // stats().upload_bytes, without the writer's lock (the write path reads it per write).
  uint64_t upload_bytes() const;
  WalWriterStats stats() const;

  // Uploads what is buffered, waits for in-flight uploads (bounded by `timeout_micros`), and
  // stops the flusher. Pending writes that cannot complete get the returned error.
  Status Close(uint64_t timeout_micros);

 private:
  struct Buffered {
    SequenceNumber first_seq;
    SequenceNumber last_seq;
    uint64_t commit_time;
    WriteBatch batch;
    Callback done;
  };
  struct Segment {
    uint64_t id = 0;
    uint64_t nonce = 0;
    std::vector<Buffered> batches;
    size_t bytes = 0;
    SequenceNumber last_seq = 0;
    bool stored = false;
  };

  void FlusherLoop();
  bool ShouldSealLocked(uint64_t now) const;
  bool CanStartLocked(uint64_t now) const;
  void SealLocked();
  void Upload(std::shared_ptr<Segment> segment);
  // Outcome of one placement attempt of a segment at its id.
  enum class Placement { kStored, kRetry, kMoved, kFenced, kFailed };
  Placement TryPlace(Segment* segment, std::string* bytes, Status* error);
  void MarkSettledLocked(uint64_t id);
  // A thread blocked in WaitForDurable. Each thread has one slot for its lifetime (shared, so
  // a waker may still hold it while the thread moves on).
  struct WaitSlot {
    std::binary_semaphore ready{0};
    Status status;
  };
  static std::shared_ptr<WaitSlot> ThisThreadSlot();
  // Takes the WaitForDurable callers whose sequence is durable now (all of them once the
  // writer has failed) and sets their status; the caller releases them after unlocking mu_.
  // Each waiter has its own semaphore, so an upload wakes only the threads it made durable,
  // and a woken thread returns without taking mu_ again.
  void TakeReadyWaitersLocked(std::vector<std::shared_ptr<WaitSlot>>* ready);
  static void ReleaseWaiters(std::vector<std::shared_ptr<WaitSlot>>* ready);
  void ReleaseLocked(std::vector<std::pair<Callback, SequenceNumber>>* ready);
  void FailAllLocked(const Status& status,
                     std::vector<std::pair<Callback, SequenceNumber>>* failed);

  const std::shared_ptr<ObjectStore> store_;
  const std::shared_ptr<Clock> clock_;
  ThreadPool* const pool_;
  const uint64_t epoch_;
  const WalWriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable flusher_cv_;
  std::condition_variable durable_cv_;  // Close: drained, failed, or no upload left
  // WaitForDurable callers, by the sequence each waits for.
  std::multimap<SequenceNumber, std::shared_ptr<WaitSlot>> waiters_;
  std::vector<Buffered> buffer_;
  size_t buffer_bytes_ = 0;
  bool buffer_has_waiter_ = false;
  uint64_t buffer_start_micros_ = 0;
  std::deque<std::shared_ptr<Segment>> inflight_;  // sealed, not yet released; sealing order
  std::deque<std::shared_ptr<Segment>> to_start_;  // sealed, upload not started
  int uploading_ = 0;
  size_t inflight_bytes_ = 0;
  // Written under mu_; read without it by the accessors above, which the write path calls.
  std::atomic<uint64_t> next_id_;
  std::atomic<size_t> unflushed_bytes_{0};  // buffer_bytes_ + inflight_bytes_
  std::atomic<uint64_t> upload_bytes_{0};
  uint64_t settled_watermark_;      // every id < this is stored or skipped
  std::set<uint64_t> settled_ids_;  // settled ids >= settled_watermark_
  // Written under mu_; read without it by durable_sequence() (every read of the DB asks).
  std::atomic<SequenceNumber> durable_seq_;
  SequenceNumber appended_seq_;
  uint64_t last_upload_start_micros_ = 0;
  Status health_;
  bool closing_ = false;
  bool force_seal_ = false;
  WalWriterStats stats_;
  std::thread flusher_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_WAL_WRITER_H_
