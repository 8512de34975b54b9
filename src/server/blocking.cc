// SPDX-License-Identifier: Apache-2.0
// BlockingRegistry (see blocking.h).
#include "server/blocking.h"

#include <algorithm>
#include <cassert>

namespace cloudkv::server {

uint64_t BlockingRegistry::Add(std::vector<std::string> keys, Mode mode, int protocol,
                               Deliver deliver) {
  assert(!keys.empty());
  std::lock_guard lock(mu_);
  const uint64_t ticket = next_ticket_++;
  for (const std::string& key : keys) {
    std::list<uint64_t>& queue = by_key_[key];
    // BLPOP k k: one entry per distinct key is enough.
    if (std::find(queue.begin(), queue.end(), ticket) == queue.end()) queue.push_back(ticket);
  }
  Waiter& waiter = waiters_[ticket];
  waiter.ticket = ticket;
  waiter.keys = std::move(keys);
  waiter.mode = mode;
  waiter.protocol = protocol;
  waiter.deliver = std::move(deliver);
  waiting_.store(waiters_.size(), std::memory_order_release);
  return ticket;
}

void BlockingRegistry::EraseLocked(uint64_t ticket) {
  auto it = waiters_.find(ticket);
  assert(it != waiters_.end());
  for (const std::string& key : it->second.keys) {
    auto queue = by_key_.find(key);
    if (queue == by_key_.end()) continue;
    queue->second.remove(ticket);
    if (queue->second.empty()) by_key_.erase(queue);
  }
  waiters_.erase(it);
  waiting_.store(waiters_.size(), std::memory_order_release);
}

bool BlockingRegistry::Remove(uint64_t ticket) {
  std::lock_guard lock(mu_);
  if (waiters_.find(ticket) == waiters_.end()) return false;
  EraseLocked(ticket);
  return true;
}

std::optional<BlockingRegistry::Waiter> BlockingRegistry::TakeOldest(std::string_view key,
                                                                     bool zset) {
  if (empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto queue = by_key_.find(std::string(key));
  if (queue == by_key_.end()) return std::nullopt;
  assert(!queue->second.empty());
  for (const uint64_t ticket : queue->second) {
    auto it = waiters_.find(ticket);
    assert(it != waiters_.end());
    if (WaitsForZSet(it->second.mode) != zset) continue;
    Waiter waiter = it->second;  // a copy: EraseLocked reads its keys
    EraseLocked(ticket);
    return waiter;
  }
  return std::nullopt;
}

}  // namespace cloudkv::server
