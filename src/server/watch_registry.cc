// SPDX-License-Identifier: Apache-2.0
// WatchRegistry (see watch_registry.h).
#include "server/watch_registry.h"

namespace cloudkv::server {

uint64_t WatchRegistry::Watch(const std::string& key) {
  std::lock_guard lock(mu_);
  Entry& e = watched_[key];
  e.watchers++;
  entries_.store(watched_.size());
  return e.version + epoch_;
}

void WatchRegistry::Unwatch(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(key);
  if (it == watched_.end()) return;
  if (--it->second.watchers == 0) watched_.erase(it);
  entries_.store(watched_.size());
}

uint64_t WatchRegistry::Version(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(key);
  return (it == watched_.end() ? 0 : it->second.version) + epoch_;
}

void WatchRegistry::Touch(const std::vector<std::string>& keys) {
  if (entries_.load() == 0) return;
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    auto it = watched_.find(key);
    if (it != watched_.end()) it->second.version++;
  }
}

void WatchRegistry::TouchAll() {
  std::lock_guard lock(mu_);
  epoch_++;
}

}  // namespace cloudkv::server
