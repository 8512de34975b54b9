// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// DurabilityTracker (src/server/durability_tracker.h) over a real database on memory://: each
// write's waiter gets its own outcome, and a ticket counts as durable only once every earlier
// ticket is done, even when the engine's completions arrive out of order (two engine threads
// racing to deliver them); WhenDurable fires at once or later; Drain waits for everything.
// Prints its seed; CLOUDKV_SEED repeats a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cloudkv/db.h"
#include "server/durability_tracker.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv::server {
namespace {

// A DB that passes everything to a real one but holds the completions of WriteAsync until the
// test releases them, in whatever order it likes.
class HeldCompletionsDB final : public DB {
 public:
  explicit HeldCompletionsDB(std::unique_ptr<DB> base) : base_(std::move(base)) {}

  void WriteAsync(const WriteBatch& batch,
                  std::function<void(Status status, uint64_t sequence)> done) override {
    size_t index;
    {
      std::lock_guard lock(mu_);
      index = submitted_++;
    }
    base_->WriteAsync(batch, [this, index, done = std::move(done)](Status s, uint64_t seq) {
      std::lock_guard lock(mu_);
      held_[index] = [done, s, seq] { done(s, seq); };
      cv_.notify_all();
    });
  }

  // Waits until the engine has reported the `index`-th WriteAsync (0-based, in call order) and
  // runs its completion on this thread.
  void Release(size_t index) {
    std::function<void()> completion;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return held_.count(index) > 0; });
      completion = std::move(held_[index]);
      held_.erase(index);
    }
    completion();
  }

  Status Write(const WriteOptions& options, const WriteBatch& batch, uint64_t* sequence) override {
    return base_->Write(options, batch, sequence);
  }
  Status WaitForDurable(uint64_t sequence) override { return base_->WaitForDurable(sequence); }
  Result<std::string> Get(const ReadOptions& options, std::string_view key) override {
    return base_->Get(options, key);
  }
  std::vector<Result<std::string>> MultiGet(const ReadOptions& options,
                                            std::span<const std::string_view> keys) override {
    return base_->MultiGet(options, keys);
  }
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override {
    return base_->NewIterator(options);
  }
  const Snapshot* GetSnapshot() override { return base_->GetSnapshot(); }
  void ReleaseSnapshot(const Snapshot* snapshot) override { base_->ReleaseSnapshot(snapshot); }
  Status Flush() override { return base_->Flush(); }
  Status CompactAll() override { return base_->CompactAll(); }
  Status CollectGarbage() override { return base_->CollectGarbage(); }
  Status Close() override { return base_->Close(); }
  DBStats GetStats() override { return base_->GetStats(); }
  std::shared_ptr<ObjectStore> store() const override { return base_->store(); }

 private:
  const std::unique_ptr<DB> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t submitted_ = 0;
  std::map<size_t, std::function<void()>> held_;
};

// Records the outcome of the write or gate it waits for.
class RecordingWaiter final : public DurabilityTracker::Waiter {
 public:
  void Done(Status status) override {
    std::lock_guard lock(mu_);
    EXPECT_FALSE(done_) << "Done ran twice";
    status_ = std::move(status);
    done_ = true;
    cv_.notify_all();
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  // Blocks until Done has run (on whatever thread runs it).
  void Wait() const {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool done_ = false;
  Status status_;
};

std::unique_ptr<DB> OpenMemoryDB(const std::string& name) {
  DropMemoryStore(name);
  auto opened = DB::Open("memory://" + name, Options());
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

std::unique_ptr<HeldCompletionsDB> OpenHeld(const std::string& name) {
  std::unique_ptr<DB> db = OpenMemoryDB(name);
  return db == nullptr ? nullptr : std::make_unique<HeldCompletionsDB>(std::move(db));
}

WriteBatch PutBatch(const std::string& key, const std::string& value) {
  WriteBatch batch;
  batch.Put(key, value);
  return batch;
}

TEST(DurabilityTrackerTest, InOrderEngineCompletesEveryTicket) {
  std::unique_ptr<DB> db = OpenMemoryDB("tracker-in-order");
  ASSERT_NE(db, nullptr);
  DurabilityTracker tracker(db.get());
  EXPECT_EQ(tracker.LastTicket(), 0u);
  std::vector<RecordingWaiter> writes(20);
  for (size_t i = 0; i < writes.size(); i++) {
    tracker.Submit(PutBatch("k" + std::to_string(i), "v"), &writes[i]);
    EXPECT_EQ(tracker.LastTicket(), i + 1);
    // Applied to memory when Submit returns.
    ReadOptions newest;
    newest.read_unflushed = true;
    EXPECT_TRUE(db->Get(newest, "k" + std::to_string(i)).ok());
  }
  RecordingWaiter gate;
  tracker.WhenDurable(tracker.LastTicket(), &gate);
  tracker.Drain();
  EXPECT_EQ(tracker.InFlight(), 0u);
  // A write's waiter hears before its ticket counts as done, so Drain has seen them all.
  for (const RecordingWaiter& w : writes) {
    EXPECT_TRUE(w.done());
    EXPECT_TRUE(w.status().ok()) << w.status().ToString();
  }
  // A gate's waiter runs just after, on the engine thread that completed the ticket.
  gate.Wait();
  EXPECT_TRUE(gate.status().ok());
  EXPECT_TRUE(db->Get(ReadOptions(), "k19").ok());  // durable now
  ASSERT_TRUE(db->Close().ok());
}

TEST(DurabilityTrackerTest, TicketsCompleteInOrderWhenTheEngineDoesNot) {
  std::unique_ptr<HeldCompletionsDB> held = OpenHeld("tracker-out-of-order");
  ASSERT_NE(held, nullptr);
  DurabilityTracker tracker(held.get());
  RecordingWaiter w1, w2, w3;
  tracker.Submit(PutBatch("a", "1"), &w1);
  tracker.Submit(PutBatch("b", "2"), &w2);
  tracker.Submit(PutBatch("c", "3"), &w3);
  EXPECT_EQ(tracker.LastTicket(), 3u);
  EXPECT_EQ(tracker.InFlight(), 3u);

  // A gate nothing is pending for fires at once, on this thread.
  RecordingWaiter at_once;
  tracker.WhenDurable(0, &at_once);
  EXPECT_TRUE(at_once.done());
  RecordingWaiter gate1, gate2, gate3;
  tracker.WhenDurable(1, &gate1);
  tracker.WhenDurable(2, &gate2);
  tracker.WhenDurable(3, &gate3);

  // Ticket 3 done first: its own waiter hears, but no gate opens (1 and 2 are pending).
  held->Release(2);
  EXPECT_TRUE(w3.done());
  EXPECT_FALSE(w1.done() || w2.done());
  EXPECT_FALSE(gate1.done() || gate2.done() || gate3.done());
  EXPECT_EQ(tracker.InFlight(), 3u);

  // Ticket 1: the gate at 1 opens; 2 is still pending, so the gates at 2 and 3 wait.
  held->Release(0);
  EXPECT_TRUE(w1.done());
  EXPECT_TRUE(gate1.done());
  EXPECT_FALSE(gate2.done() || gate3.done());
  EXPECT_EQ(tracker.InFlight(), 2u);

  // Ticket 2 closes the hole: everything up to 3 is durable.
  held->Release(1);
  EXPECT_TRUE(w2.done());
  EXPECT_TRUE(gate2.done());
  EXPECT_TRUE(gate3.done());
  EXPECT_EQ(tracker.InFlight(), 0u);
  for (const RecordingWaiter* w : {&w1, &w2, &w3, &gate1, &gate2, &gate3, &at_once}) {
    EXPECT_TRUE(w->status().ok()) << w->status().ToString();
  }
  // Later gates at a done ticket fire at once.
  RecordingWaiter late;
  tracker.WhenDurable(3, &late);
  EXPECT_TRUE(late.done());
  tracker.Drain();
  ASSERT_TRUE(held->Close().ok());
}

// A write the engine refuses reports its error to its waiter and still completes its ticket,
// so gates behind it open.
TEST(DurabilityTrackerTest, AFailedWriteStillCompletesItsTicket) {
  std::unique_ptr<HeldCompletionsDB> held = OpenHeld("tracker-failed");
  ASSERT_NE(held, nullptr);
  DurabilityTracker tracker(held.get());
  RecordingWaiter good, bad;
  WriteBatch refused;
  refused.DeleteRange("z", "a");  // begin > end: InvalidArgument, nothing written
  tracker.Submit(PutBatch("a", "1"), &good);
  tracker.Submit(refused, &bad);
  RecordingWaiter gate;
  tracker.WhenDurable(2, &gate);
  held->Release(1);
  EXPECT_TRUE(bad.done());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
  EXPECT_FALSE(gate.done());
  held->Release(0);
  EXPECT_TRUE(good.status().ok());
  EXPECT_TRUE(gate.done());
  EXPECT_TRUE(gate.status().ok());  // a gate reports that the tickets are done, not how
  EXPECT_EQ(tracker.InFlight(), 0u);
  ASSERT_TRUE(held->Close().ok());
}

TEST(DurabilityTrackerTest, DrainWaitsForEveryTicket) {
  std::unique_ptr<HeldCompletionsDB> held = OpenHeld("tracker-drain");
  ASSERT_NE(held, nullptr);
  DurabilityTracker tracker(held.get());
  tracker.Drain();  // nothing submitted: returns at once
  std::vector<RecordingWaiter> writes(3);
  for (size_t i = 0; i < writes.size(); i++) {
    tracker.Submit(PutBatch("k" + std::to_string(i), "v"), &writes[i]);
  }
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    tracker.Drain();
    drained = true;
  });
  held->Release(1);
  held->Release(2);
  // Whenever the drainer got this far, ticket 1 is still pending.
  EXPECT_FALSE(drained.load());
  held->Release(0);
  drainer.join();
  EXPECT_TRUE(drained.load());
  EXPECT_EQ(tracker.InFlight(), 0u);
  ASSERT_TRUE(held->Close().ok());
}

// Completions in a random order, released from several threads: after each one, exactly the
// gates at or below the longest done prefix of tickets have fired.
TEST(DurabilityTrackerTest, RandomCompletionOrderOpensGatesInTicketOrder) {
  Random rnd(TestSeed("DurabilityTrackerTest.RandomCompletionOrderOpensGatesInTicketOrder"));
  std::unique_ptr<HeldCompletionsDB> held = OpenHeld("tracker-random");
  ASSERT_NE(held, nullptr);
  DurabilityTracker tracker(held.get());
  constexpr size_t kWrites = 64;
  std::vector<RecordingWaiter> writes(kWrites), gates(kWrites + 1);
  for (size_t i = 0; i < kWrites; i++) {
    tracker.Submit(PutBatch("k" + std::to_string(rnd.Uniform(16)), rnd.Printable(8)), &writes[i]);
  }
  for (size_t gate = 0; gate <= kWrites; gate++) tracker.WhenDurable(gate, &gates[gate]);
  EXPECT_TRUE(gates[0].done());
  std::vector<size_t> order(kWrites);
  for (size_t i = 0; i < kWrites; i++) order[i] = i;
  for (size_t i = kWrites - 1; i > 0; i--) std::swap(order[i], order[rnd.Uniform(i + 1)]);

  std::vector<bool> done(kWrites);
  for (size_t step = 0; step < kWrites;) {
    // Release a few at once from different threads, so their completions race.
    const size_t n = std::min<size_t>(1 + rnd.Uniform(3), kWrites - step);
    std::vector<std::thread> threads;
    for (size_t j = 0; j < n; j++) {
      threads.emplace_back([&, index = order[step + j]] { held->Release(index); });
    }
    for (std::thread& t : threads) t.join();
    for (size_t j = 0; j < n; j++) done[order[step + j]] = true;
    step += n;
    size_t prefix = 0;
    while (prefix < kWrites && done[prefix]) prefix++;
    for (size_t i = 0; i < kWrites; i++) ASSERT_EQ(writes[i].done(), done[i]) << "write " << i;
    for (size_t gate = 0; gate <= kWrites; gate++) {
      ASSERT_EQ(gates[gate].done(), gate <= prefix) << "gate " << gate << " after " << step;
    }
    ASSERT_EQ(tracker.InFlight(), kWrites - prefix);
  }
  tracker.Drain();
  ASSERT_TRUE(held->Close().ok());
}

}  // namespace
}  // namespace cloudkv::server
