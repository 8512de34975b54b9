// SPDX-License-Identifier: Apache-2.0
// BlockingRegistry: the clients blocked in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN and
// BZPOPMAX, by key.
//
// A blocking command that finds every key empty registers (under its keys' locks, so no push
// can slip in between) and its connection stops reading. A push to a key (LPUSH, RPUSH,
// LINSERT, LMOVE's destination, ...) serves the waiters of that key in the order they blocked,
// inside the pusher's own transaction, as Redis does: a BLPOP/BRPOP waiter gets its element
// popped there and then (so the pusher's next command already sees the list without it), and
// a BLMOVE waiter, whose destination the pusher does not hold the lock of, is woken to run
// its command again. Keys nobody waits on cost one atomic load per push.
//
// Thread-safety: thread-safe. Deliver callbacks run with the registry's mutex released.
#ifndef CLOUDKV_SERVER_BLOCKING_H_
#define CLOUDKV_SERVER_BLOCKING_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cloudkv::server {

class BlockingRegistry {
 public:
  // kPopLeft/kPopRight/kRetry wait for a list, kZPopMin/kZPopMax for a sorted set.
  enum class Mode : uint8_t { kPopLeft, kPopRight, kRetry, kZPopMin, kZPopMax };
  static bool WaitsForZSet(Mode mode) { return mode == Mode::kZPopMin || mode == Mode::kZPopMax; }
  // Hands a waiter its reply (already encoded in its protocol), or nullopt to run its command
  // again. Called at most once per registration, from the thread that served it.
  using Deliver = std::function<void(std::optional<std::string> reply)>;

  struct Waiter {
    uint64_t ticket = 0;
    std::vector<std::string> keys;
    Mode mode = Mode::kRetry;
    int protocol = 2;
    Deliver deliver;
  };

  // Registers a waiter on `keys` (at least one). Returns its ticket.
  uint64_t Add(std::vector<std::string> keys, Mode mode, int protocol, Deliver deliver);
  // Unregisters a waiter; false if it is gone already (served, or removed).
  bool Remove(uint64_t ticket);
  // Takes the oldest waiter of `key` that waits for a sorted set (`zset`) or for a list (not
  // `zset`) out of the registry (off all its keys); nullopt if none. Waiters for the other
  // type stay blocked, as in Redis.
  std::optional<Waiter> TakeOldest(std::string_view key, bool zset);
  // Whether anyone waits on any key (one atomic load).
  bool empty() const { return waiting_.load(std::memory_order_acquire) == 0; }

 private:
  void EraseLocked(uint64_t ticket);

  std::atomic<size_t> waiting_{0};
  std::mutex mu_;
  uint64_t next_ticket_ = 1;
  std::unordered_map<uint64_t, Waiter> waiters_;
  std::unordered_map<std::string, std::list<uint64_t>> by_key_;  // oldest first
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_BLOCKING_H_
