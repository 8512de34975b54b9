// SPDX-License-Identifier: Apache-2.0
// DurabilityTracker: submits batches to DB::WriteAsync in "ticket" order and tracks which
// tickets are durable, so that a reply computed from non-durable state can wait until that
// state is durable (docs/server.md, "Durability and consistency"). Tickets are numbered 1, 2,
// ... in the order the engine applies the batches (its sequence order); ticket t is "durable"
// once every ticket <= t has completed (durable or failed), whatever order the engine's
// callbacks arrive in.
//
// Thread-safety: thread-safe. Waiters run on an engine thread or on the calling thread.
#ifndef CLOUDKV_SERVER_DURABILITY_TRACKER_H_
#define CLOUDKV_SERVER_DURABILITY_TRACKER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include "cloudkv/db.h"

namespace cloudkv::server {

class DurabilityTracker {
 public:
  // What waits for a write (or for a ticket) to be durable. Done runs exactly once, on an
  // engine thread or on the submitting thread; the waiter must stay valid until then.
  class Waiter {
   public:
    virtual ~Waiter() = default;
    virtual void Done(Status status) = 0;

   private:
    friend class DurabilityTracker;
    uint64_t ticket_ = 0;
  };

  // `db` is not owned and must outlive the tracker.
  explicit DurabilityTracker(DB* db) : db_(db) {}
  // Applies the batch to memory now; `waiter->Done` runs with the write's outcome once it is
  // durable or failed (a failed write still completes its ticket).
  void Submit(const WriteBatch& batch, Waiter* waiter);
  // Every write applied to memory so far has a ticket <= this.
  uint64_t LastTicket() const { return last_ticket_.load(std::memory_order_acquire); }
  // Calls `waiter->Done(OK)` once every ticket <= gate is done: at once on this thread if
  // already so, else on an engine thread.
  void WhenDurable(uint64_t gate, Waiter* waiter);
  // Blocks until every submitted write is done (for shutdown).
  void Drain();
  // Tickets submitted and not yet durable (including done ones behind an earlier pending one).
  uint64_t InFlight() const;

 private:
  void Complete(uint64_t ticket);

  DB* const db_;
  std::mutex submit_mu_;  // orders tickets like the engine's sequence numbers
  std::atomic<uint64_t> last_ticket_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t durable_ = 0;           // every ticket <= durable_ is done
  std::set<uint64_t> done_early_;  // completed above durable_ + 1 (out of order; rare)
  std::multimap<uint64_t, Waiter*> waiters_;
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_DURABILITY_TRACKER_H_
