// SPDX-License-Identifier: Apache-2.0
// ctest-labels: bench
// Throughput figures for the memtable, merging and DB iterators. Prints numbers, asserts only
// correctness (timing never fails a test). Meaningful in the release preset:
//   CLOUDKV_BENCH_ENTRIES=1000000 build/release/tests/memtable_bench_test
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "db/db_iterator.h"
#include "db/memtable.h"
#include "db/merging_iterator.h"
#include "util/coding.h"
#include "util/random.h"

namespace cloudkv {
namespace {

size_t BenchEntries() {
  const char* env = std::getenv("CLOUDKV_BENCH_ENTRIES");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 100000;
}

// Measures this thread's CPU time, so figures stay comparable on a busy shared machine.
class Stopwatch {
 public:
  double Seconds() const { return Now() - start_; }

 private:
  static double Now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  double start_ = Now();
};

void Report(const char* what, size_t ops, double seconds) {
  std::printf("%-44s %10zu ops %8.3f cpu-s %12.0f ops/cpu-s\n", what, ops, seconds, ops / seconds);
}

// 16-byte random keys (like db_bench fillrandom's), 100-byte values.
std::vector<std::string> RandomKeys(Random* rnd, size_t n) {
  std::vector<std::string> keys(n);
  for (auto& k : keys) {
    k.resize(16);
    EncodeFixed64(k.data(), rnd->Next64());
    EncodeFixed64(k.data() + 8, rnd->Next64());
  }
  return keys;
}

// The memtables are sized as the engine sizes them: about one index bucket per entry.
TEST(MemTableBench, InsertGetScan) {
  Random rnd(TestSeed("MemTableBench.InsertGetScan"));
  const size_t n = BenchEntries();
  std::vector<std::string> keys = RandomKeys(&rnd, n);
  const std::string value = rnd.Printable(100);

  auto mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, n);
  {
    Stopwatch watch;
    for (size_t i = 0; i < n; i++) mem->Add(i + 1, kTypeValue, keys[i], value);
    Report("memtable insert random (16B key, 100B value)", n, watch.Seconds());
  }
  {
    // The engine's path: one single-put WriteBatch per write, applied by InsertBatchIntoMemTable.
    auto batch_mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, n);
    Stopwatch watch;
    WriteBatch batch;
    for (size_t i = 0; i < n; i++) {
      batch.Clear();
      batch.Put(keys[i], value);
      ASSERT_TRUE(InsertBatchIntoMemTable(batch, i + 1, batch_mem.get()).ok());
    }
    Report("memtable insert random via WriteBatch", n, watch.Seconds());
  }
  {
    // Keys as redis-benchmark -r makes them ("key:" and 12 digits): long shared prefixes.
    auto redis_mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, n);
    std::vector<std::string> redis_keys(n);
    for (std::string& k : redis_keys) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "key:%012llu",
                    static_cast<unsigned long long>(rnd.Uniform(1'000'000)));
      k = buf;
    }
    Stopwatch watch;
    for (size_t i = 0; i < n; i++) redis_mem->Add(i + 1, kTypeValue, redis_keys[i], value);
    Report("memtable insert random (redis-benchmark keys)", n, watch.Seconds());
  }
  std::printf("memtable bytes per entry: %.1f\n",
              static_cast<double>(mem->ApproximateMemoryUsage()) / n);
  {
    auto seq_mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, n);
    std::vector<std::string> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    Stopwatch watch;
    for (size_t i = 0; i < n; i++) seq_mem->Add(i + 1, kTypeValue, sorted[i], value);
    Report("memtable insert sequential", n, watch.Seconds());
  }
  // n gets of key_at(i) at snapshot_at(i), in a scattered order; every one must give `want`.
  auto time_gets = [&](const char* what, auto key_at, auto snapshot_at, LookupState want) {
    LookupResult result;
    size_t as_wanted = 0;
    Stopwatch watch;
    for (size_t i = 0; i < n; i++) {
      const size_t k = (i * 7919) % n;
      mem->Get(key_at(k), snapshot_at(k), &result);
      as_wanted += result.state == want;
    }
    Report(what, n, watch.Seconds());
    EXPECT_EQ(as_wanted, n) << what;
  };
  auto newest = [](size_t) { return kMaxSequenceNumber; };
  time_gets(
      "memtable get (hit)", [&](size_t k) -> const std::string& { return keys[k]; }, newest,
      LookupState::kFound);
  // A snapshot older than each key's entry (keys[k] was added at sequence k + 1): the index
  // cannot answer, the skiplist is searched (what every Get cost before the index) and finds
  // nothing visible.
  time_gets(
      "memtable get at an older snapshot (skiplist)",
      [&](size_t k) -> const std::string& { return keys[k]; },
      [](size_t k) { return static_cast<SequenceNumber>(k); }, LookupState::kNotPresent);
  time_gets(
      "memtable get (miss)", [](size_t k) { return "absent-" + std::to_string(k); }, newest,
      LookupState::kNotPresent);
  {
    auto it = mem->NewIterator();
    size_t count = 0;
    Stopwatch watch;
    for (it->SeekToFirst(); it->Valid(); it->Next()) count++;
    Report("memtable iterator scan", count, watch.Seconds());
    EXPECT_EQ(count, n);
  }
  {
    // 20 children, as with a full L0 plus memtables.
    constexpr size_t kChildren = 20;
    std::vector<std::shared_ptr<MemTable>> mems;
    for (size_t c = 0; c < kChildren; c++) mems.push_back(std::make_shared<MemTable>());
    for (size_t i = 0; i < n; i++) mems[i % kChildren]->Add(i + 1, kTypeValue, keys[i], value);
    std::vector<std::unique_ptr<Iterator>> children;
    for (auto& m : mems) children.push_back(m->NewIterator());
    auto merged = NewMergingIterator(std::move(children));
    size_t count = 0;
    Stopwatch watch;
    for (merged->SeekToFirst(); merged->Valid(); merged->Next()) count++;
    Report("merging iterator scan (20 children)", count, watch.Seconds());
    EXPECT_EQ(count, n);

    children.clear();
    for (auto& m : mems) children.push_back(m->NewIterator());
    auto db_it = NewDBIterator(NewMergingIterator(std::move(children)), kMaxSequenceNumber,
                               std::nullopt, std::nullopt);
    count = 0;
    Stopwatch watch2;
    for (db_it->SeekToFirst(); db_it->Valid(); db_it->Next()) count++;
    Report("db iterator scan (20 children)", count, watch2.Seconds());
    EXPECT_EQ(count, n);
    count = 0;
    Stopwatch watch3;
    for (db_it->SeekToLast(); db_it->Valid(); db_it->Prev()) count++;
    Report("db iterator reverse scan (20 children)", count, watch3.Seconds());
    EXPECT_EQ(count, n);
  }
}

}  // namespace
}  // namespace cloudkv
