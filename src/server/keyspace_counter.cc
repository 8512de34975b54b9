// SPDX-License-Identifier: Apache-2.0
// KeyspaceCounter (see keyspace_counter.h): counts live metadata records on a background thread.
#include "server/keyspace_counter.h"

#include <cassert>
#include <memory>

#include "server/key_encoding.h"

namespace cloudkv::server {

KeyspaceCounter::Figures KeyspaceCounter::Get(uint64_t now_ms) {
  std::lock_guard lock(mu_);
  Figures figures = last_;
  if (figures.known) figures.age_ms = now_ms - last_counted_ms_;
  const bool due = !started_once_ || now_ms - last_started_ms_ >= refresh_interval_ms_;
  if (!stopped_ && !running_ && due) {
    // The previous thread has finished (running_ is false): joining does not wait on mu_.
    if (thread_.joinable()) thread_.join();
    running_ = true;
    started_once_ = true;
    last_started_ms_ = now_ms;
    thread_ = std::thread([this, now_ms] { Count(now_ms); });
  }
  return figures;
}

void KeyspaceCounter::Stop() {
  stop_.store(true);
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    thread.swap(thread_);
  }
  if (thread.joinable()) thread.join();
}

void KeyspaceCounter::Count(uint64_t started_ms) {
  uint64_t keys = 0, expires = 0;
  bool complete = true;
  {
    ReadOptions options;  // the durable view, as plain reads
    std::string lower(1, kMetaPrefix), upper(1, kMetaEnd);
    options.lower_bound = lower;
    options.upper_bound = upper;
    std::unique_ptr<Iterator> iter = db_->NewIterator(options);
    for (iter->SeekToFirst(); iter->Valid(); iter->Next()) {
      if (stop_.load(std::memory_order_relaxed)) {
        complete = false;
        break;
      }
      Result<Metadata> meta = DecodeMetadata(iter->key().substr(1), iter->value());
      if (meta.ok() && !meta->ExpiredAt(started_ms)) {
        keys++;
        if (meta->expire_at_ms != 0) expires++;
      }
    }
    if (!iter->status().ok()) complete = false;
  }
  std::lock_guard lock(mu_);
  assert(running_);
  if (complete) {
    last_.known = true;
    last_.keys = keys;
    last_.expires = expires;
    last_counted_ms_ = started_ms;
  }
  running_ = false;
}

}  // namespace cloudkv::server
