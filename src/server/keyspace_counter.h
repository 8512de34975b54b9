// SPDX-License-Identifier: Apache-2.0
// KeyspaceCounter: the key and expiry counts of INFO's keyspace section, counted on a
// background thread so that INFO stays cheap on the io thread however many keys there are.
// INFO reports the last count (with its age); asking for it starts a new count when the last
// one is older than a refresh interval and none is running, so at most one scan of the
// metadata records runs at a time and INFO cannot be used to make the server scan repeatedly.
//
// Thread-safety: every method may be called from any thread.
#ifndef CLOUDKV_SERVER_KEYSPACE_COUNTER_H_
#define CLOUDKV_SERVER_KEYSPACE_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "cloudkv/db.h"

namespace cloudkv::server {

class KeyspaceCounter {
 public:
  // `db` is not owned and must outlive the counter (or Stop must be called first).
  explicit KeyspaceCounter(DB* db, uint64_t refresh_interval_ms = 10000)
      : db_(db), refresh_interval_ms_(refresh_interval_ms) {}
  ~KeyspaceCounter() { Stop(); }
  KeyspaceCounter(const KeyspaceCounter&) = delete;
  KeyspaceCounter& operator=(const KeyspaceCounter&) = delete;

  struct Figures {
    bool known = false;  // a count has finished
    uint64_t keys = 0;
    uint64_t expires = 0;  // keys with an expiry
    uint64_t age_ms = 0;   // since that count started
  };
  // The last finished count; starts a new one in the background if it is due.
  Figures Get(uint64_t now_ms);
  // Ends a running count and joins its thread; Get starts no more afterwards.
  void Stop();

 private:
  void Count(uint64_t started_ms);

  DB* const db_;
  const uint64_t refresh_interval_ms_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  // Protected by mu_.
  bool running_ = false;
  bool stopped_ = false;
  Figures last_;
  uint64_t last_started_ms_ = 0;  // of the newest count started
  uint64_t last_counted_ms_ = 0;  // start of the count in last_
  bool started_once_ = false;
  std::thread thread_;
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_KEYSPACE_COUNTER_H_
