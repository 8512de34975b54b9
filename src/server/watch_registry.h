// SPDX-License-Identifier: Apache-2.0
// WatchRegistry: the versions of the keys clients WATCH. Every write to a watched key (same
// value and expiry changes included) bumps its version; EXEC compares each watched key's
// version with the one seen at WATCH and aborts if any changed (docs/server.md, "WATCH").
// Keys nobody watches have no entry, so a write to them costs one atomic load.
//
// Thread-safety: thread-safe.
#ifndef CLOUDKV_SERVER_WATCH_REGISTRY_H_
#define CLOUDKV_SERVER_WATCH_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace cloudkv::server {

class WatchRegistry {
 public:
  // Registers one more watcher of `key`; returns its version now.
  uint64_t Watch(const std::string& key);
  // Drops one watcher of `key` (registered by Watch); the entry goes with the last one.
  void Unwatch(const std::string& key);
  uint64_t Version(const std::string& key);
  // Called (under the keys' locks) when a transaction writes these user keys.
  void Touch(const std::vector<std::string>& keys);
  // Bumps the version of every key, watched or not (FLUSHDB).
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

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_WATCH_REGISTRY_H_
