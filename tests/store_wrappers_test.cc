// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// Behaviour of the store wrappers themselves: fault injection (rates, reproducibility, lost
// responses, deferred requests), request counting and cost, simulated latency on a manual
// clock, and the URL options that select them.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "cloudkv/clock.h"
#include "store/counting_store.h"
#include "store/fault_injecting_store.h"
#include "store/latency_store.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::shared_ptr<ObjectStore> Memory() {
  static std::atomic<int> counter{0};
  return NewPrivateMemoryStore("wrappers-" + std::to_string(counter++));
}

FaultOptions Rates(StoreOp op, FaultRates rates, uint64_t seed) {
  FaultOptions options;
  options.seed = seed;
  options.For(op) = rates;
  return options;
}

std::set<std::string> Keys(ObjectStore& store) {
  Result<ListResult> list = store.List("");
  EXPECT_TRUE(list.ok());
  std::set<std::string> keys;
  if (list.ok()) {
    for (const ObjectInfo& o : list->objects) keys.insert(o.key);
  }
  return keys;
}

bool IsRetryableIOError(const Status& s) { return s.IsIOError() && s.retryable(); }

// --- FaultInjectingStore ---

TEST(FaultInjectingStore, ErrorsAreInjectedAtAboutTheRateAndWriteNothing) {
  const uint64_t seed = TestSeed("FaultInjectingStore.Rates");
  auto base = Memory();
  FaultInjectingStore store(base, Rates(StoreOp::kPut, {.error = 0.1}, seed));
  const int kPuts = 10000;
  int failed = 0;
  for (int i = 0; i < kPuts; i++) {
    std::string key = "k/" + std::to_string(i);
    Result<std::string> r = store.Put(key, "v");
    if (!r.ok()) {
      ASSERT_TRUE(IsRetryableIOError(r.status())) << r.status().ToString();
      failed++;
      EXPECT_TRUE(base->Head(key).status().IsNotFound()) << "an error-before put took effect";
    } else {
      EXPECT_TRUE(base->Head(key).ok());
    }
  }
  // Binomial(10000, 0.1): mean 1000, sd 30; the bounds are over 6 sd away.
  EXPECT_GT(failed, 800);
  EXPECT_LT(failed, 1200);
  FaultCounts counts = store.Counts();
  EXPECT_EQ(counts.Get(StoreOp::kPut, FaultKind::kError), static_cast<uint64_t>(failed));
  EXPECT_EQ(counts.Get(StoreOp::kPut, FaultKind::kNone), static_cast<uint64_t>(kPuts - failed));
  EXPECT_EQ(counts.Total(FaultKind::kLostResponse), 0u);
  // Other kinds of request are untouched.
  for (int i = 0; i < 100; i++) EXPECT_TRUE(store.List("k/", "", 1).ok());
}

std::vector<int> FaultPattern(uint64_t seed) {
  FaultOptions options;
  options.seed = seed;
  options.For(StoreOp::kPut) = {.error = 0.1, .lost = 0.1, .defer = 0.1};
  options.For(StoreOp::kGet) = {.error = 0.2, .lost = 0.1};
  FaultInjectingStore store(Memory(), options);
  std::vector<int> pattern;
  for (int i = 0; i < 500; i++) {
    Result<std::string> put = store.Put("k" + std::to_string(i % 7), "v");
    pattern.push_back(put.ok() ? 0 : 1);
    Result<GetResult> get = store.Get("k" + std::to_string(i % 5));
    pattern.push_back(static_cast<int>(get.status().code()));
  }
  pattern.push_back(static_cast<int>(store.PendingCount()));
  return pattern;
}

TEST(FaultInjectingStore, FaultsAreReproducibleBySeed) {
  const uint64_t seed = TestSeed("FaultInjectingStore.Reproducible");
  EXPECT_EQ(FaultPattern(seed), FaultPattern(seed));
  EXPECT_NE(FaultPattern(seed), FaultPattern(seed + 1));
}

TEST(FaultInjectingStore, LostResponsesTookEffect) {
  auto base = Memory();
  FaultInjectingStore store(
      base, Rates(StoreOp::kPut, {.lost = 0.5}, TestSeed("FaultInjectingStore.Lost")));
  int lost = 0;
  for (int i = 0; i < 400; i++) {
    std::string key = "k/" + std::to_string(i);
    Result<std::string> r = store.Put(key, "value " + std::to_string(i), PutOptions::IfAbsent());
    Result<GetResult> got = base->Get(key);
    ASSERT_TRUE(got.ok()) << "the put did not happen: " << key;
    EXPECT_EQ(got->data, "value " + std::to_string(i));
    if (!r.ok()) {
      EXPECT_TRUE(IsRetryableIOError(r.status()));
      EXPECT_NE(r.status().message().find("response lost"), std::string::npos);
      lost++;
      // The retry of an ambiguous create-if-absent finds its own object: the caller must
      // resolve it by reading back, as the engine does.
      EXPECT_TRUE(base->Put(key, "again", PutOptions::IfAbsent()).status().IsPreconditionFailed());
    }
  }
  EXPECT_GT(lost, 100);
  EXPECT_LT(lost, 300);
  // Lost deletes also took effect.
  store.SetOptions(Rates(StoreOp::kDelete, {.lost = 1}, 1));
  EXPECT_TRUE(IsRetryableIOError(store.Delete("k/0")));
  EXPECT_TRUE(base->Get("k/0").status().IsNotFound());
}

TEST(FaultInjectingStore, DeferredRequestsLandLateOrOutOfOrder) {
  auto base = Memory();
  FaultInjectingStore store(base, FaultOptions{});
  store.ForceNext(StoreOp::kPut, FaultKind::kDefer, 2);
  EXPECT_TRUE(IsRetryableIOError(store.Put("key", "v1").status()));
  EXPECT_TRUE(IsRetryableIOError(store.Put("key", "v2").status()));
  EXPECT_TRUE(store.Put("other", "direct").ok());  // the forced faults are used up
  EXPECT_TRUE(base->Get("key").status().IsNotFound()) << "a deferred put landed early";
  std::vector<PendingRequest> pending = store.Pending();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, "key");
  EXPECT_EQ(pending[0].op, StoreOp::kPut);
  EXPECT_LT(pending[0].id, pending[1].id);
  // Land them newest first: the older write lands last and wins, as on a real server.
  ASSERT_TRUE(store.ApplyPendingById(pending[1].id)->status.ok());
  EXPECT_EQ(base->Get("key")->data, "v2");
  ASSERT_TRUE(store.ApplyPendingById(pending[0].id)->status.ok());
  EXPECT_EQ(base->Get("key")->data, "v1");
  EXPECT_FALSE(store.ApplyPendingById(pending[0].id).has_value());
  EXPECT_EQ(store.PendingCount(), 0u);
  EXPECT_EQ(store.Counts().landed, 2u);
}

TEST(FaultInjectingStore, DeferredConditionalPutsEvaluateWhenTheyLand) {
  auto base = Memory();
  FaultInjectingStore store(base, FaultOptions{});
  store.ForceNext(StoreOp::kPut, FaultKind::kDefer, 2);
  EXPECT_FALSE(store.Put("wal/7", "zombie", PutOptions::IfAbsent()).ok());
  Result<std::string> etag = base->Put("cas", "v0");
  EXPECT_FALSE(store.Put("cas", "late", PutOptions::IfMatch(*etag)).ok());
  // Meanwhile others write both keys.
  ASSERT_TRUE(store.Put("wal/7", "fence", PutOptions::IfAbsent()).ok());
  ASSERT_TRUE(store.Put("cas", "v1").ok());
  Random order(TestSeed("FaultInjectingStore.Conditional"));
  std::vector<LandedRequest> landed = store.ApplyPending(SIZE_MAX, order);
  ASSERT_EQ(landed.size(), 2u);
  for (const LandedRequest& l : landed) {
    EXPECT_TRUE(l.status.IsPreconditionFailed()) << l.request.key << ": " << l.status.ToString();
  }
  EXPECT_EQ(base->Get("wal/7")->data, "fence");
  EXPECT_EQ(base->Get("cas")->data, "v1");
}

TEST(FaultInjectingStore, DeferredDeletesAndDropPending) {
  auto base = Memory();
  FaultInjectingStore store(base, Rates(StoreOp::kDelete, {.defer = 1}, 3));
  ASSERT_TRUE(store.Put("a", "1").ok());
  ASSERT_TRUE(store.Put("b", "1").ok());
  EXPECT_FALSE(store.Delete("a").ok());
  EXPECT_FALSE(store.Delete("b").ok());
  EXPECT_EQ(store.PendingCount(), 2u);
  Random order(1);
  ASSERT_EQ(store.ApplyPending(1, order).size(), 1u);
  EXPECT_EQ(store.PendingCount(), 1u);
  store.DropPending();
  EXPECT_EQ(store.PendingCount(), 0u);
  // Exactly one of the two deletes landed; the dropped one never will.
  int present = (base->Head("a").ok() ? 1 : 0) + (base->Head("b").ok() ? 1 : 0);
  EXPECT_EQ(present, 1);
  EXPECT_EQ(store.Counts().landed, 1u);
  EXPECT_EQ(store.Counts().dropped, 1u);
}

TEST(FaultInjectingStore, CrashLandsSomeKeepsSomeDropsSome) {
  const uint64_t seed = TestSeed("FaultInjectingStore.Crash");
  auto run = [&](std::set<std::string>* landed_now, std::set<std::string>* kept,
                 std::set<std::string>* visible_at_end) {
    auto base = Memory();
    FaultInjectingStore store(base, Rates(StoreOp::kPut, {.defer = 1}, 5));
    for (int i = 0; i < 60; i++) EXPECT_FALSE(store.Put("k/" + std::to_string(i), "v").ok());
    ASSERT_EQ(store.PendingCount(), 60u);
    for (const LandedRequest& l : store.Crash(seed)) {
      EXPECT_TRUE(l.status.ok());
      landed_now->insert(l.request.key);
    }
    for (const PendingRequest& p : store.Pending()) kept->insert(p.key);
    // Exactly the landed ones are visible now.
    std::set<std::string> visible = Keys(*base);
    EXPECT_EQ(visible, *landed_now);
    // Those kept land later.
    Random order(seed);
    store.ApplyPending(SIZE_MAX, order);
    *visible_at_end = Keys(*base);
    FaultCounts counts = store.Counts();
    EXPECT_EQ(counts.landed + counts.dropped, 60u);
  };
  std::set<std::string> landed1, kept1, end1, landed2, kept2, end2;
  run(&landed1, &kept1, &end1);
  run(&landed2, &kept2, &end2);
  EXPECT_EQ(landed1, landed2) << "Crash(seed) is not reproducible";
  EXPECT_EQ(kept1, kept2);
  // All three fates occur among 60 requests (each has probability 1/3).
  EXPECT_FALSE(landed1.empty());
  EXPECT_FALSE(kept1.empty());
  EXPECT_LT(landed1.size() + kept1.size(), 60u);
  std::set<std::string> expected_end = landed1;
  expected_end.insert(kept1.begin(), kept1.end());
  EXPECT_EQ(end1, expected_end);
}

TEST(FaultInjectingStore, DeciderGivesASimulationExactControl) {
  auto base = Memory();
  FaultInjectingStore store(base, FaultOptions{});
  std::vector<uint64_t> sequences;
  store.SetDecider([&](const FaultRequest& r) -> std::optional<FaultKind> {
    sequences.push_back(r.sequence);
    if (r.op == StoreOp::kPut && r.key.starts_with("wal/")) return FaultKind::kDefer;
    if (r.op == StoreOp::kGet && r.key == "flaky") return FaultKind::kError;
    return std::nullopt;  // fall back to the (zero) rates
  });
  EXPECT_FALSE(store.Put("wal/1", "x").ok());
  EXPECT_TRUE(store.Put("sst/1", "x").ok());
  EXPECT_TRUE(store.Put("flaky", "x").ok());
  EXPECT_FALSE(store.Get("flaky").ok());
  EXPECT_TRUE(store.Get("sst/1").ok());
  EXPECT_EQ(sequences, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  ASSERT_EQ(store.PendingCount(), 1u);
  EXPECT_EQ(store.Pending()[0].key, "wal/1");
  // ForceNext takes precedence over the decider.
  store.ForceNext(StoreOp::kPut, FaultKind::kNone);
  EXPECT_TRUE(store.Put("wal/2", "x").ok());
  store.SetDecider(nullptr);
  EXPECT_TRUE(store.Put("wal/3", "x").ok());
}

TEST(FaultInjectingStore, SetOptionsTurnsFaultsOffAtRuntime) {
  FaultOptions all;
  all.seed = 9;
  for (auto& r : all.rates) r.error = 1;
  FaultInjectingStore store(Memory(), all);
  EXPECT_FALSE(store.Put("k", "v").ok());
  EXPECT_FALSE(store.Get("k").ok());
  EXPECT_FALSE(store.Head("k").ok());
  EXPECT_FALSE(store.List("").ok());
  EXPECT_FALSE(store.Delete("k").ok());
  store.SetOptions(FaultOptions{});
  EXPECT_TRUE(store.Put("k", "v").ok());
  EXPECT_EQ(store.Get("k")->data, "v");
  // Invalid keys pass straight to the backend's validation, with no fault drawn.
  store.SetOptions(all);
  EXPECT_TRUE(store.Put("a//b", "v").status().IsInvalidArgument());
}

TEST(FaultInjectingStore, PendingQueueIsBounded) {
  FaultOptions options = Rates(StoreOp::kPut, {.defer = 1}, 1);
  options.max_pending = 3;
  auto base = Memory();
  FaultInjectingStore store(base, options);
  for (int i = 0; i < 5; i++) EXPECT_FALSE(store.Put("k" + std::to_string(i), "v").ok());
  std::vector<PendingRequest> pending = store.Pending();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].key, "k2");  // the two oldest were dropped
  EXPECT_EQ(store.Counts().dropped, 2u);
}

TEST(FaultInjectingStore, ConcurrentRequestsAndLandings) {
  auto base = Memory();
  FaultOptions options;
  options.seed = TestSeed("FaultInjectingStore.Concurrent");
  options.For(StoreOp::kPut) = {.error = 0.1, .lost = 0.1, .defer = 0.2};
  options.For(StoreOp::kGet) = {.error = 0.1};
  options.For(StoreOp::kDelete) = {.defer = 0.2};
  FaultInjectingStore store(base, options);
  std::atomic<bool> done{false};
  std::thread lander([&] {
    Random order(1);
    while (!done.load()) store.ApplyPending(3, order);
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; t++) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 300; i++) {
        std::string key = "k/" + std::to_string(t) + "/" + std::to_string(i % 10);
        (void)store.Put(key, "v");
        (void)store.Get(key);
        if (i % 7 == 0) (void)store.Delete(key);
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  lander.join();
  store.Crash(7);
  store.DropPending();
  FaultCounts counts = store.Counts();
  uint64_t deferred = counts.Get(StoreOp::kPut, FaultKind::kDefer) +
                      counts.Get(StoreOp::kDelete, FaultKind::kDefer);
  EXPECT_EQ(counts.landed + counts.dropped, deferred);
}

TEST(FaultInjectingStore, OptionsAreValidated) {
  FaultOptions bad;
  bad.For(StoreOp::kGet).defer = 0.1;
  EXPECT_TRUE(bad.Validate().IsInvalidArgument());
  bad = FaultOptions{};
  bad.For(StoreOp::kPut) = {.error = 0.6, .lost = 0.6};
  EXPECT_TRUE(bad.Validate().IsInvalidArgument());
  bad = FaultOptions{};
  bad.For(StoreOp::kPut).error = -0.1;
  EXPECT_TRUE(bad.Validate().IsInvalidArgument());
  EXPECT_TRUE(FaultOptions{}.Validate().ok());
}

// --- CountingStore ---

TEST(CountingStore, CountsRequestsBytesAndErrors) {
  CountingStore store(Memory());
  ASSERT_TRUE(store.Put("a", "12345").ok());
  ASSERT_TRUE(store.Put("b", "xy").ok());
  EXPECT_TRUE(store.Put("a", "z", PutOptions::IfAbsent()).status().IsPreconditionFailed());
  ASSERT_TRUE(store.Get("a").ok());
  ASSERT_TRUE(store.Get("a", ByteRange{1, 2}).ok());
  EXPECT_FALSE(store.Get("missing").ok());
  ASSERT_TRUE(store.Head("b").ok());
  ASSERT_TRUE(store.List("").ok());
  ASSERT_TRUE(store.Delete("b").ok());
  StoreCounters c = store.Snapshot();
  EXPECT_EQ(c.Requests(StoreOp::kPut), 3u);
  EXPECT_EQ(c.Requests(StoreOp::kGet), 3u);
  EXPECT_EQ(c.Requests(StoreOp::kHead), 1u);
  EXPECT_EQ(c.Requests(StoreOp::kList), 1u);
  EXPECT_EQ(c.Requests(StoreOp::kDelete), 1u);
  EXPECT_EQ(c.TotalRequests(), 9u);
  EXPECT_EQ(c.Errors(StoreOp::kPut), 1u);
  EXPECT_EQ(c.Errors(StoreOp::kGet), 1u);
  EXPECT_EQ(c.put_bytes, 8u);  // every byte sent, also by the failed put
  EXPECT_EQ(c.get_bytes, 7u);  // 5 + 2
  // DeleteMany counts one request per 1,000 keys, as S3's DeleteObjects.
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; i++) keys.push_back("d/" + std::to_string(i));
  ASSERT_TRUE(store.DeleteMany(keys).ok());
  StoreCounters after = store.Snapshot();
  EXPECT_EQ((after - c).Requests(StoreOp::kDelete), 3u);
  EXPECT_EQ((after - c).TotalRequests(), 3u);
  store.Reset();
  EXPECT_EQ(store.Snapshot().TotalRequests(), 0u);
}

TEST(CountingStore, CostArithmeticAtS3Prices) {
  StoreCounters c;
  c.requests[static_cast<size_t>(StoreOp::kPut)] = 1000;
  c.requests[static_cast<size_t>(StoreOp::kList)] = 1000;
  c.requests[static_cast<size_t>(StoreOp::kGet)] = 10000;
  c.requests[static_cast<size_t>(StoreOp::kHead)] = 5000;
  c.requests[static_cast<size_t>(StoreOp::kDelete)] = 1000000;  // free
  EXPECT_NEAR(c.EstimatedCostDollars(), 0.005 + 0.005 + 0.004 + 0.002, 1e-12);
  // One PUT per second for a 30-day month is about $13 (docs/design.md §13).
  StoreCounters month;
  month.requests[static_cast<size_t>(StoreOp::kPut)] = 30ull * 24 * 3600;
  EXPECT_NEAR(month.EstimatedCostDollars(), 12.96, 1e-9);
  CountingStore store(Memory());
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(store.Put("k", "v").ok());
  EXPECT_NEAR(store.EstimatedCostDollars(), 0.01, 1e-12);
}

TEST(CountingStore, IsFoundInAWrappedChain) {
  Result<std::shared_ptr<ObjectStore>> store = OpenObjectStore(
      "memory://chain-find?private=true&count=true&simulate=fast&simulate_seed=1&faults="
      "put_error:0&fault_seed=2");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  CountingStore* counting = FindWrappedStore<CountingStore>(store->get());
  ASSERT_NE(counting, nullptr);
  EXPECT_EQ(counting, store->get()) << "counting is the outermost wrapper";
  LatencyStore* latency = FindWrappedStore<LatencyStore>(store->get());
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ(latency->profile().name, "fast");
  ASSERT_NE(FindWrappedStore<FaultInjectingStore>(store->get()), nullptr);
  ASSERT_TRUE((*store)->Put("k", "v").ok());
  EXPECT_EQ(counting->Snapshot().Requests(StoreOp::kPut), 1u);
  // A bare backend has no wrapper.
  auto bare = Memory();
  EXPECT_EQ(FindWrappedStore<CountingStore>(bare.get()), nullptr);
}

// --- LatencyStore ---

std::vector<double> SampleMs(LatencyStore& store, ManualClock& clock, StoreOp op, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; i++) {
    uint64_t before = clock.MonotonicMicros();
    switch (op) {
      case StoreOp::kGet:
        EXPECT_TRUE(store.Get("small").ok());
        break;
      case StoreOp::kPut:
        EXPECT_TRUE(store.Put("small", "x").ok());
        break;
      default:
        EXPECT_TRUE(store.Head("small").ok());
    }
    out.push_back(static_cast<double>(clock.MonotonicMicros() - before) / 1000.0);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LatencyStore, S3ProfileOnAManualClock) {
  auto clock = std::make_shared<ManualClock>();
  auto base = Memory();
  ASSERT_TRUE(base->Put("small", "x").ok());
  LatencyStore store(base, LatencyProfile::S3Standard(), TestSeed("LatencyStore.S3"), clock);
  const int n = 5000;
  for (StoreOp op : {StoreOp::kGet, StoreOp::kPut}) {
    std::vector<double> ms = SampleMs(store, *clock, op, n);
    const LatencyDistribution& d = store.profile().For(op);
    double p50 = ms[n / 2], p99 = ms[n * 99 / 100];
    // Virtual time, so these are statistics of the seeded draw, not wall-clock timing.
    EXPECT_GT(p50, d.median_ms * 0.85) << StoreOpName(op);
    EXPECT_LT(p50, d.median_ms * 1.15) << StoreOpName(op);
    EXPECT_GT(p99, d.p99_ms * 0.7) << StoreOpName(op);
    EXPECT_LT(p99, d.p99_ms * 1.4) << StoreOpName(op);
    EXPECT_GT(ms.front(), 0.0);
    EXPECT_LE(ms.back(), store.profile().max_latency_ms + 1);
  }
  // A large GET adds its transfer time at ~90 MB/s: 9 MB take 100 ms more.
  ASSERT_TRUE(base->Put("big", std::string(9'000'000, 'b')).ok());
  uint64_t before = clock->MonotonicMicros();
  ASSERT_TRUE(store.Get("big").ok());
  uint64_t took = clock->MonotonicMicros() - before;
  EXPECT_GE(took, 100'000u);
  EXPECT_LE(took, 100'000u + 2'000'000u);
  EXPECT_EQ(store.TransferMicros(90'000'000), 1'000'000u);
}

TEST(LatencyStore, SameSeedSameDelays) {
  auto run = [](uint64_t seed) {
    auto clock = std::make_shared<ManualClock>();
    LatencyStore store(Memory(), LatencyProfile::S3Standard(), seed, clock);
    std::vector<uint64_t> times;
    for (int i = 0; i < 50; i++) {
      (void)store.Put("k", "v");
      (void)store.Get("k");
      (void)store.List("");
      (void)store.Delete("k");
      times.push_back(clock->MonotonicMicros());
    }
    return times;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

// --- Capabilities ---

// The engine picks its defaults from capabilities(), never from Describe(): every wrapper keeps
// its base's, and only the latency wrapper changes the latency class, to its profile's.
TEST(StoreCapabilities, ComeFromTheStoreThroughEveryWrapper) {
  struct Case {
    std::string url;
    StoreLatencyClass latency_class;
  };
  const std::vector<Case> cases = {
      {"memory://caps?private=true", StoreLatencyClass::kLocal},
      {"memory://caps?private=true&count=true&faults=put_error:0", StoreLatencyClass::kLocal},
      {"memory://caps?private=true&simulate=fast", StoreLatencyClass::kLocal},
      {"memory://caps?private=true&simulate=s3", StoreLatencyClass::kRemote},
      {"memory://caps?private=true&simulate=s3&count=true&faults=put_error:0",
       StoreLatencyClass::kRemote},
  };
  for (const Case& c : cases) {
    Result<std::shared_ptr<ObjectStore>> store = OpenObjectStore(c.url);
    ASSERT_TRUE(store.ok()) << c.url << ": " << store.status().ToString();
    StoreCapabilities caps = (*store)->capabilities();
    EXPECT_EQ(caps.latency_class, c.latency_class) << c.url;
    EXPECT_FALSE(caps.remote) << c.url << ": simulated latency does not move the data";
    EXPECT_TRUE(caps.atomic_if_absent) << c.url;
    EXPECT_TRUE(caps.atomic_if_match) << c.url;
  }
}

// A wrapper forwards what its base reports, whatever either says in Describe().
TEST(StoreCapabilities, WrappersForwardTheBaseCapabilities) {
  class RemoteLooking final : public ObjectStoreWrapper {
   public:
    using ObjectStoreWrapper::ObjectStoreWrapper;
    StoreCapabilities capabilities() const override {
      StoreCapabilities c;
      c.atomic_if_absent = false;
      c.remote = true;
      c.latency_class = StoreLatencyClass::kRemote;
      return c;
    }
    std::string Describe() const override { return "memory://not-s3"; }
  };
  auto base = std::make_shared<RemoteLooking>(Memory());
  FaultOptions no_faults;
  for (std::shared_ptr<ObjectStore> wrapped :
       {std::shared_ptr<ObjectStore>(std::make_shared<CountingStore>(base)),
        std::shared_ptr<ObjectStore>(std::make_shared<FaultInjectingStore>(base, no_faults))}) {
    StoreCapabilities caps = wrapped->capabilities();
    EXPECT_TRUE(caps.remote);
    EXPECT_EQ(caps.latency_class, StoreLatencyClass::kRemote);
    EXPECT_FALSE(caps.atomic_if_absent);
  }
  // The fast profile gives even a remote store local latency; the data stays where it is.
  LatencyStore fast(base, LatencyProfile::Fast(), 1);
  EXPECT_EQ(fast.capabilities().latency_class, StoreLatencyClass::kLocal);
  EXPECT_TRUE(fast.capabilities().remote);
}

// --- URL options ---

TEST(StoreUrlOptions, MalformedValuesNameTheOptionAndValue) {
  struct Case {
    std::string query, option, value;
  };
  const Case cases[] = {
      {"faults=put_error", "faults", "put_error"},
      {"faults=put_error:2", "faults", "put_error:2"},
      {"faults=put_error:x", "faults", "put_error:x"},
      {"faults=get_defer:0.1", "faults", "get_defer:0.1"},
      {"faults=foo_error:0.1", "faults", "foo_error:0.1"},
      {"faults=put_bogus:0.1", "faults", "put_bogus:0.1"},
      {"faults=put_error:0.6,put_lost:0.6", "faults", "put_error:0.6,put_lost:0.6"},
      {"faults=put_error:0.1,put_error:0.2", "faults", "put_error:0.1,put_error:0.2"},
      {"faults=", "faults", ""},
      {"faults=put_error:0.1&fault_seed=abc", "fault_seed", "abc"},
      {"fault_seed=1", "fault_seed", ""},
      {"simulate=moon", "simulate", "moon"},
      {"simulate=s3&simulate_seed=-1", "simulate_seed", "-1"},
      {"simulate_seed=1", "simulate_seed", ""},
      {"count=maybe", "count", "maybe"},
      {"colour=blue", "colour", ""},
  };
  for (const Case& c : cases) {
    Result<std::shared_ptr<ObjectStore>> r = OpenObjectStore("memory://opts?" + c.query);
    ASSERT_TRUE(r.status().IsInvalidArgument()) << c.query << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.option), std::string::npos)
        << c.query << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(c.value), std::string::npos)
        << c.query << ": " << r.status().message();
  }
}

TEST(StoreUrlOptions, ExtraParamsMergeAndTheUrlWins) {
  ObjectStoreOptions options;
  options.params = {{"count", "true"}, {"private", "true"}};
  Result<std::shared_ptr<ObjectStore>> store = OpenObjectStore("memory://merge", options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_NE(FindWrappedStore<CountingStore>(store->get()), nullptr);
  store = OpenObjectStore("memory://merge?count=false", options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(FindWrappedStore<CountingStore>(store->get()), nullptr);
  options.params = {{"bogus", "1"}};
  EXPECT_TRUE(OpenObjectStore("memory://merge", options).status().IsInvalidArgument());
}

TEST(StoreUrlOptions, FaultSpecAppliesToTheNamedOperations) {
  FaultOptions options;
  ASSERT_TRUE(ParseFaultSpec("all_error:0.25,put_lost:0.5,all_defer:0.125", &options).ok());
  for (size_t i = 0; i < kNumStoreOps; i++) {
    StoreOp op = static_cast<StoreOp>(i);
    EXPECT_EQ(options.For(op).error, 0.25);
    bool mutates = op == StoreOp::kPut || op == StoreOp::kDelete;
    EXPECT_EQ(options.For(op).defer, mutates ? 0.125 : 0.0);
  }
  EXPECT_EQ(options.For(StoreOp::kPut).lost, 0.5);
  EXPECT_EQ(options.For(StoreOp::kGet).lost, 0.0);
  // Through a URL: the seed makes it reproducible.
  auto pattern = [] {
    auto store = OpenObjectStore("memory://spec?private=true&faults=put_error:0.5&fault_seed=11");
    std::vector<bool> out;
    for (int i = 0; i < 64; i++) out.push_back((*store)->Put("k", "v").ok());
    return out;
  };
  EXPECT_EQ(pattern(), pattern());
  std::vector<bool> p = pattern();
  EXPECT_NE(std::count(p.begin(), p.end(), true), 0);
  EXPECT_NE(std::count(p.begin(), p.end(), false), 0);
}

}  // namespace
}  // namespace cloudkv
