// SPDX-License-Identifier: Apache-2.0
// KeyLocks (see key_locks.h).
#include "server/key_locks.h"

#include <algorithm>
#include <cassert>
#include <functional>

namespace cloudkv::server {

size_t KeyLocks::StripeOf(std::string_view key) {
  return std::hash<std::string_view>{}(key) % kStripes;
}

void KeyLocks::Set::Lock(const std::vector<std::string_view>& keys, bool all) {
  assert(held_.empty());
  if (all) {
    for (size_t i = 0; i < kStripes; i++) {
      is_held_[i] = true;
      held_.push_back(i);
    }
  }
  for (std::string_view key : keys) {
    size_t i = StripeOf(key);
    if (!is_held_[i]) {
      is_held_[i] = true;
      held_.push_back(i);
    }
  }
  std::sort(held_.begin(), held_.end());
  for (size_t i : held_) locks_->mu_[i].lock();
}

bool KeyLocks::Set::TryAdd(const std::vector<std::string_view>& keys) {
  const size_t before = held_.size();
  for (std::string_view key : keys) {
    size_t i = StripeOf(key);
    if (is_held_[i]) continue;
    if (!locks_->mu_[i].try_lock()) {
      while (held_.size() > before) {
        locks_->mu_[held_.back()].unlock();
        is_held_[held_.back()] = false;
        held_.pop_back();
      }
      return false;
    }
    is_held_[i] = true;
    held_.push_back(i);
  }
  return true;
}

void KeyLocks::Set::Release() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    locks_->mu_[*it].unlock();
    is_held_[*it] = false;
  }
  held_.clear();
}

}  // namespace cloudkv::server
