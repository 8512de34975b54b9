// SPDX-License-Identifier: Apache-2.0
// DurabilityTracker (see durability_tracker.h).
#include "server/durability_tracker.h"

#include <utility>
#include <vector>

namespace cloudkv::server {

void DurabilityTracker::Submit(const WriteBatch& batch, Waiter* waiter) {
  std::lock_guard lock(submit_mu_);
  uint64_t ticket = last_ticket_.load() + 1;
  last_ticket_.store(ticket, std::memory_order_release);
  waiter->ticket_ = ticket;
  // Two pointers: std::function keeps them inline (no allocation per write).
  db_->WriteAsync(batch, [this, waiter](Status status, uint64_t) {
    uint64_t done_ticket = waiter->ticket_;
    waiter->Done(std::move(status));  // may free the waiter
    Complete(done_ticket);
  });
}

void DurabilityTracker::Complete(uint64_t ticket) {
  std::vector<Waiter*> ready;
  {
    std::lock_guard lock(mu_);
    // The engine reports batches in sequence order, which is ticket order: the set is only
    // used when callbacks race each other.
    if (ticket == durable_ + 1) {
      durable_++;
    } else {
      done_early_.insert(ticket);
    }
    while (!done_early_.empty() && *done_early_.begin() == durable_ + 1) {
      durable_++;
      done_early_.erase(done_early_.begin());
    }
    while (!waiters_.empty() && waiters_.begin()->first <= durable_) {
      ready.push_back(waiters_.begin()->second);
      waiters_.erase(waiters_.begin());
    }
    cv_.notify_all();
  }
  for (Waiter* waiter : ready) waiter->Done(Status::OK());
}

void DurabilityTracker::WhenDurable(uint64_t gate, Waiter* waiter) {
  {
    std::lock_guard lock(mu_);
    if (gate > durable_) {
      waiters_.emplace(gate, waiter);
      return;
    }
  }
  waiter->Done(Status::OK());
}

void DurabilityTracker::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return durable_ >= last_ticket_.load(); });
}

uint64_t DurabilityTracker::InFlight() const {
  std::lock_guard lock(mu_);
  return last_ticket_.load() - durable_;
}

}  // namespace cloudkv::server
