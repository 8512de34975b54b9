// SPDX-License-Identifier: Apache-2.0
#include "db/wal_writer.h"

#include <algorithm>
#include <cassert>

#include "db/wal_protocol.h"
#include "format/wal_format.h"
#include "util/logging.h"
#include "util/random.h"
#include "util/thread_pool.h"

namespace cloudkv {

WalWriter::WalWriter(std::shared_ptr<ObjectStore> store, std::shared_ptr<Clock> clock,
                     ThreadPool* pool, uint64_t epoch, uint64_t first_id,
                     SequenceNumber durable_sequence, WalWriterOptions options)
    : store_(std::move(store)),
      clock_(std::move(clock)),
      pool_(pool),
      epoch_(epoch),
      options_(options),
      next_id_(first_id),
      settled_watermark_(first_id),
      durable_seq_(durable_sequence),
      appended_seq_(durable_sequence) {
  assert(options_.max_inflight > 0);
  flusher_ = std::thread([this] { FlusherLoop(); });
}

WalWriter::~WalWriter() {
  if (flusher_.joinable()) {
    auto ignored = Close(0);
    (void)ignored;
  }
}

void WalWriter::Append(SequenceNumber first_seq, SequenceNumber last_seq,
                       uint64_t commit_time_micros, const WriteBatch& batch, bool durable_waiter,
                       Callback done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!health_.ok()) {
    Status s = health_;
    lock.unlock();
    if (done) done(s, last_seq);
    return;
  }
  assert(first_seq == appended_seq_ + 1);
  appended_seq_ = last_seq;
  if (buffer_.empty()) buffer_start_micros_ = clock_->MonotonicMicros();
  buffer_bytes_ += batch.ByteSize() + 24;
  unflushed_bytes_.store(buffer_bytes_ + inflight_bytes_, std::memory_order_relaxed);
  buffer_.push_back(Buffered{first_seq, last_seq, commit_time_micros, batch, std::move(done)});
  bool wake = false;
  if (durable_waiter) {
    buffer_has_waiter_ = true;
    // Only when the flusher could start an upload now: otherwise the upload that finishes
    // wakes it, and a wake-up per write while one runs is a context switch for nothing.
    wake = uploading_ < options_.max_inflight;
  }
  if (buffer_bytes_ >= options_.wal_max_bytes) wake = true;
  lock.unlock();
  if (wake) flusher_cv_.notify_one();
}

uint64_t WalWriter::Seal() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!buffer_.empty()) SealLocked();
  flusher_cv_.notify_one();
  return next_id_.load(std::memory_order_relaxed);
}

bool WalWriter::CanStartLocked(uint64_t now) const {
  if (uploading_ >= options_.max_inflight) return false;
  if (options_.max_puts_per_second > 0 && last_upload_start_micros_ != 0) {
    uint64_t gap = static_cast<uint64_t>(1e6 / options_.max_puts_per_second);
    if (now < last_upload_start_micros_ + gap) return false;
  }
  return true;
}

bool WalWriter::ShouldSealLocked(uint64_t now) const {
  if (buffer_.empty()) return false;
  if (closing_ || force_seal_) return true;
  // A durable writer waits: upload now if idle. Where requests cost nothing (no PUT rate cap,
  // e.g. file://), also pipeline uploads up to max_inflight instead of waiting for the one in
  // flight: latency then is one upload, not up to two.
  if (buffer_has_waiter_ && (uploading_ == 0 || options_.max_puts_per_second == 0)) return true;
  if (buffer_bytes_ >= options_.wal_max_bytes) return true;
  return now >= buffer_start_micros_ + options_.flush_interval_micros;
}

void WalWriter::SealLocked() {
  static thread_local Random rnd(RandomSeed());
  auto seg = std::make_shared<Segment>();
  seg->id = next_id_++;
  seg->nonce = rnd.Next64();
  seg->batches = std::move(buffer_);
  seg->bytes = buffer_bytes_;
  seg->last_seq = seg->batches.back().last_seq;
  buffer_.clear();
  buffer_bytes_ = 0;
  buffer_has_waiter_ = false;
  force_seal_ = false;
  inflight_bytes_ += seg->bytes;
  inflight_.push_back(seg);
  to_start_.push_back(std::move(seg));
}

void WalWriter::FlusherLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    uint64_t now = clock_->MonotonicMicros();
    if (health_.ok() && !to_start_.empty() && CanStartLocked(now)) {
      auto seg = std::move(to_start_.front());
      to_start_.pop_front();
      uploading_++;
      last_upload_start_micros_ = now;
      pool_->Submit([this, seg] { Upload(seg); });
      continue;
    }
    if (health_.ok() && to_start_.empty() && CanStartLocked(now) && ShouldSealLocked(now)) {
      SealLocked();
      continue;
    }
    if (closing_ && (buffer_.empty() || !health_.ok()) && to_start_.empty() && uploading_ == 0) {
      break;
    }
    // Sleep until the next event that could make progress.
    uint64_t wait = 1'000'000;
    if (!buffer_.empty()) {
      uint64_t due = buffer_start_micros_ + options_.flush_interval_micros;
      wait = std::min(wait, due > now ? due - now : 1000);
    }
    if (options_.max_puts_per_second > 0 && (!to_start_.empty() || !buffer_.empty())) {
      uint64_t gap = static_cast<uint64_t>(1e6 / options_.max_puts_per_second);
      uint64_t due = last_upload_start_micros_ + gap;
      wait = std::min(wait, due > now ? due - now : 1000);
    }
    flusher_cv_.wait_for(lock, std::chrono::microseconds(std::max<uint64_t>(wait, 200)));
  }
}

WalWriter::Placement WalWriter::TryPlace(Segment* seg, std::string* bytes, Status* error) {
  switch (PlaceWalObject(store_.get(), seg->id, epoch_, seg->nonce, *bytes, error)) {
    case WalPlacement::kStored:
      return Placement::kStored;
    case WalPlacement::kRetry:
      return Placement::kRetry;
    case WalPlacement::kFenced:
      return Placement::kFenced;
    case WalPlacement::kFailed:
      return Placement::kFailed;
    case WalPlacement::kOccupiedByOlder:
      break;
  }
  // An older epoch's object: never acknowledged (it is above that writer's fence). Skip the id.
  uint64_t old_id = seg->id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    MarkSettledLocked(seg->id);
    seg->id = next_id_++;
    stats_.skipped_ids++;
  }
  LOG_INFO("{}; moving the segment from id {} to {}", error->message(), old_id, seg->id);
  WalObjectBuilder builder(seg->id, epoch_, seg->nonce);
  for (const auto& b : seg->batches) builder.AddBatch(b.first_seq, b.commit_time, b.batch);
  *bytes = builder.Finish();
  return Placement::kMoved;
}

void WalWriter::Upload(std::shared_ptr<Segment> seg) {
  std::string bytes;
  {
    WalObjectBuilder builder(seg->id, epoch_, seg->nonce);
    for (const auto& b : seg->batches) builder.AddBatch(b.first_seq, b.commit_time, b.batch);
    bytes = builder.Finish();
  }
  const uint64_t start = clock_->MonotonicMicros();
  int attempts = 0;
  uint64_t backoff = options_.retry_backoff_micros;
  Status error;
  Placement placement;
  while (true) {
    placement = TryPlace(seg.get(), &bytes, &error);
    if (placement == Placement::kStored || placement == Placement::kFenced ||
        placement == Placement::kFailed) {
      break;
    }
    if (placement == Placement::kMoved) continue;
    attempts++;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.retries++;
      if (!health_.ok()) {
        uploading_--;
        flusher_cv_.notify_one();
        durable_cv_.notify_all();
        return;  // whoever failed the writer released the waiters
      }
    }
    if (options_.max_attempts > 0 && attempts >= options_.max_attempts) {
      error = error.WithContext("gave up after " + std::to_string(attempts) + " attempts");
      placement = Placement::kFailed;
      break;
    }
    LOG_WARN("WAL upload of id {} failed (attempt {}): {}; retrying", seg->id, attempts,
             error.ToString());
    static thread_local Random rnd(RandomSeed());
    clock_->SleepForMicros(backoff / 2 + rnd.Uniform(backoff / 2 + 1));
    backoff = std::min(backoff * 2, options_.max_retry_backoff_micros);
  }
  std::vector<std::pair<Callback, SequenceNumber>> callbacks;
  std::vector<std::shared_ptr<WaitSlot>> waiters;
  Status failure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uploading_--;
    if (placement == Placement::kStored) {
      seg->stored = true;
      stats_.uploads++;
      stats_.upload_bytes += bytes.size();
      upload_bytes_.store(stats_.upload_bytes, std::memory_order_relaxed);
      stats_.batches += seg->batches.size();
      stats_.upload_micros_total += clock_->MonotonicMicros() - start;
      MarkSettledLocked(seg->id);
      ReleaseLocked(&callbacks);
    } else if (health_.ok()) {
      failure = placement == Placement::kFenced
                    ? error
                    : error.WithContext("WAL upload of id " + std::to_string(seg->id) +
                                        " failed; the writer acknowledges no more writes and is "
                                        "read-only until the database is opened again");
      FailAllLocked(failure, &callbacks);
    }
    // Notified under the lock: once uploading_ reaches 0, Close may return and the writer be
    // destroyed, so this thread must not touch it after unlocking.
    TakeReadyWaitersLocked(&waiters);
    flusher_cv_.notify_one();
    durable_cv_.notify_all();
  }
  ReleaseWaiters(&waiters);
  for (auto& [cb, seq] : callbacks) {
    if (cb) cb(failure, seq);
  }
}

std::shared_ptr<WalWriter::WaitSlot> WalWriter::ThisThreadSlot() {
  thread_local std::shared_ptr<WaitSlot> slot = std::make_shared<WaitSlot>();
  return slot;
}

void WalWriter::TakeReadyWaitersLocked(std::vector<std::shared_ptr<WaitSlot>>* ready) {
  const SequenceNumber durable = durable_seq_.load(std::memory_order_relaxed);
  const bool failed = !health_.ok();
  while (!waiters_.empty() && (failed || waiters_.begin()->first <= durable)) {
    auto node = waiters_.extract(waiters_.begin());
    node.mapped()->status = node.key() <= durable ? Status::OK() : health_;
    ready->push_back(std::move(node.mapped()));
  }
}

void WalWriter::ReleaseWaiters(std::vector<std::shared_ptr<WaitSlot>>* ready) {
  for (auto& slot : *ready) slot->ready.release();
  ready->clear();
}

void WalWriter::MarkSettledLocked(uint64_t id) {
  settled_ids_.insert(id);
  while (!settled_ids_.empty() && *settled_ids_.begin() == settled_watermark_) {
    settled_ids_.erase(settled_ids_.begin());
    settled_watermark_++;
  }
}

void WalWriter::ReleaseLocked(std::vector<std::pair<Callback, SequenceNumber>>* ready) {
  while (!inflight_.empty() && inflight_.front()->stored &&
         inflight_.front()->id < settled_watermark_) {
    auto& seg = inflight_.front();
    if (seg->last_seq > durable_seq_.load(std::memory_order_relaxed)) {
      durable_seq_.store(seg->last_seq, std::memory_order_release);
    }
    inflight_bytes_ -= seg->bytes;
    unflushed_bytes_.store(buffer_bytes_ + inflight_bytes_, std::memory_order_relaxed);
    for (auto& b : seg->batches) {
      if (b.done) ready->emplace_back(std::move(b.done), b.last_seq);
    }
    inflight_.pop_front();
  }
}

void WalWriter::FailAllLocked(const Status& status,
                              std::vector<std::pair<Callback, SequenceNumber>>* failed) {
  health_ = status;
  LOG_ERROR("WAL writer (epoch {}) stops accepting writes: {}", epoch_, status.ToString());
  for (auto& seg : inflight_) {
    for (auto& b : seg->batches) {
      if (b.done) failed->emplace_back(std::move(b.done), b.last_seq);
    }
  }
  for (auto& b : buffer_) {
    if (b.done) failed->emplace_back(std::move(b.done), b.last_seq);
  }
  inflight_.clear();
  to_start_.clear();
  buffer_.clear();
  buffer_bytes_ = 0;
  inflight_bytes_ = 0;
  unflushed_bytes_.store(0, std::memory_order_relaxed);
}

Status WalWriter::WaitForDurable(SequenceNumber seq) {
  std::unique_lock<std::mutex> lock(mu_);
  if (seq > appended_seq_) seq = appended_seq_;
  if (durable_seq_ < seq && !buffer_.empty() && buffer_.front().first_seq <= seq && health_.ok()) {
    buffer_has_waiter_ = true;
    flusher_cv_.notify_one();
  }
  if (durable_seq_.load(std::memory_order_relaxed) >= seq) return Status::OK();
  if (!health_.ok()) return health_;
  std::shared_ptr<WaitSlot> slot = ThisThreadSlot();
  waiters_.emplace(seq, slot);
  lock.unlock();
  slot->ready.acquire();  // released exactly once, by TakeReadyWaitersLocked's caller
  return slot->status;
}

SequenceNumber WalWriter::durable_sequence() const {
  return durable_seq_.load(std::memory_order_acquire);
}

Status WalWriter::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

size_t WalWriter::unflushed_bytes() const {
  return unflushed_bytes_.load(std::memory_order_relaxed);
}

uint64_t WalWriter::next_id() const { return next_id_.load(std::memory_order_relaxed); }

uint64_t WalWriter::upload_bytes() const { return upload_bytes_.load(std::memory_order_relaxed); }

WalWriterStats WalWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status WalWriter::Close(uint64_t timeout_micros) {
  std::vector<std::pair<Callback, SequenceNumber>> callbacks;
  Status result;
  {
    std::unique_lock<std::mutex> lock(mu_);
    closing_ = true;
    flusher_cv_.notify_one();
    bool drained = durable_cv_.wait_for(lock, std::chrono::microseconds(timeout_micros), [&] {
      return !health_.ok() || (buffer_.empty() && inflight_.empty() && uploading_ == 0);
    });
    if (!health_.ok()) {
      result = health_;
    } else if (!drained) {
      result = Status::IOError("closed before every write was durable (WAL uploads still failing)",
                               true);
      FailAllLocked(result, &callbacks);
    }
    if (health_.ok()) health_ = Status::InvalidArgument("WAL writer is closed");
  }
  std::vector<std::shared_ptr<WaitSlot>> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TakeReadyWaitersLocked(&waiters);  // health_ is not OK now: every waiter returns
  }
  ReleaseWaiters(&waiters);
  flusher_cv_.notify_one();
  durable_cv_.notify_all();
  for (auto& [cb, seq] : callbacks) {
    if (cb) cb(result, seq);
  }
  if (flusher_.joinable()) flusher_.join();
  // Uploads that are mid-retry notice the closed health and exit; wait for them.
  std::unique_lock<std::mutex> lock(mu_);
  durable_cv_.wait(lock, [&] { return uploading_ == 0; });
  return result;
}

}  // namespace cloudkv
