// SPDX-License-Identifier: Apache-2.0
// KeyLocks: striped per-key mutexes that serialize every write (and the reads of
// read-modify-write commands) on the same key. A command holds its keys' stripes while it
// reads and applies its batch to memory, never until the batch is durable (docs/server.md,
// "Durability and consistency").
//
// Thread-safety: KeyLocks is thread-safe. A KeyLocks::Set belongs to one thread at a time.
#ifndef CLOUDKV_SERVER_KEY_LOCKS_H_
#define CLOUDKV_SERVER_KEY_LOCKS_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace cloudkv::server {

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
    // Adds the stripes of `keys` without blocking; true if all are held now (stripes this set
    // holds already count), false (and nothing added) if another set holds one of them.
    bool TryAdd(const std::vector<std::string_view>& keys);
    // Releases every stripe held (none is fine).
    void Release();

   private:
    KeyLocks* const locks_;
    std::vector<size_t> held_;
    std::vector<bool> is_held_ = std::vector<bool>(kStripes);
  };

 private:
  std::unique_ptr<std::mutex[]> mu_ = std::make_unique<std::mutex[]>(kStripes);
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_KEY_LOCKS_H_
