// SPDX-License-Identifier: Apache-2.0
// ctest-labels: slow
// Space test (issue #6): with history_retention = 0, overwrite the same 10K keys 100 times;
// after compaction and GC the bucket holds at most a small multiple of the live data. Prints
// the factor it measured. CLOUDKV_SPACE_ROUNDS changes the number of overwrite rounds.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cloudkv/clock.h"
#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "cloudkv/write_batch.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

constexpr int kKeys = 10'000;
constexpr size_t kValueBytes = 100;

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%012d", i);  // 15 bytes, like the benchmark's keys
  return buf;
}

struct StoreUsage {
  uint64_t bytes = 0;
  uint64_t objects = 0;
  std::map<std::string, uint64_t> bytes_by_kind;  // "sst", "wal", "manifest", ...
};

StoreUsage Usage(ObjectStore& store) {
  StoreUsage u;
  std::string after;
  for (;;) {
    auto list = store.List("", after);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (!list.ok()) return u;
    for (const ObjectInfo& o : list->objects) {
      u.bytes += o.size;
      u.objects++;
      u.bytes_by_kind[o.key.substr(0, o.key.find('/'))] += o.size;
    }
    if (list->objects.empty() || !list->truncated) break;
    after = list->objects.back().key;
  }
  return u;
}

TEST(SpaceTest, OverwritesAreReclaimedByCompactionAndGc) {
  const uint64_t seed = TestSeed("SpaceTest");
  Random rnd(seed);
  int rounds = 100;
  if (const char* e = std::getenv("CLOUDKV_SPACE_ROUNDS")) rounds = std::max(1, std::atoi(e));

  auto dir =
      std::filesystem::temp_directory_path() / ("cloudkv-space-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string url = "file://" + dir.string();

  // Time moves only when the test moves it, so flush and compaction commits never miss their
  // deadlines (half and a quarter of gc_min_age) however slow the machine, and the test moves
  // past gc_min_age before collecting instead of sleeping through it.
  auto clock = std::make_shared<ManualClock>();
  Options o;
  o.clock = clock;
  o.history_retention_ms = 0;
  o.gc_min_age_ms = 4000;
  o.max_clock_skew_ms = 0;
  o.gc_interval_ms = 0;  // GC runs when the test asks
  o.memtable_bytes = 1 << 20;
  o.target_sst_bytes = 256 << 10;
  o.level1_target_bytes = 1 << 20;
  o.block_cache_bytes = 1 << 20;
  auto opened = DB::Open(url, o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<DB> db = std::move(opened).value();

  std::vector<std::string> latest(kKeys);
  WriteOptions fast;
  fast.durable = false;
  for (int r = 0; r < rounds; r++) {
    for (int start = 0; start < kKeys; start += 500) {
      WriteBatch batch;
      for (int i = start; i < start + 500; i++) {
        latest[i] = rnd.Bytes(kValueBytes);  // random bytes: compression cannot help
        batch.Put(Key(i), latest[i]);
      }
      ASSERT_TRUE(db->Write(fast, batch).ok());
    }
  }
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  // Everything CompactAll retired is older than gc_min_age after this.
  clock->Advance((o.gc_min_age_ms + 200) * 1000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  // A second pass deletes what the first one's manifest pruning left behind.
  ASSERT_TRUE(db->CollectGarbage().ok());

  for (int i = 0; i < kKeys; i += 97) {
    auto v = db->Get({}, Key(i));
    ASSERT_TRUE(v.ok()) << Key(i) << ": " << v.status().ToString();
    ASSERT_EQ(*v, latest[i]) << Key(i);
  }
  DBStats stats = db->GetStats();
  StoreUsage usage = Usage(*db->store());
  const double live = static_cast<double>(kKeys) * (Key(0).size() + kValueBytes);
  const double factor = static_cast<double>(usage.bytes) / live;
  std::printf(
      "space: %d rounds of %d keys; live %.0f bytes; bucket %llu bytes in %llu objects "
      "(factor %.2f); written by users %llu bytes; gc deleted %llu objects\n",
      rounds, kKeys, live, static_cast<unsigned long long>(usage.bytes),
      static_cast<unsigned long long>(usage.objects), factor,
      static_cast<unsigned long long>(stats.user_bytes_written),
      static_cast<unsigned long long>(stats.gc_objects_deleted));
  for (const auto& [kind, bytes] : usage.bytes_by_kind) {
    std::printf("space:   %-10s %llu bytes\n", kind.c_str(),
                static_cast<unsigned long long>(bytes));
  }
  // What was written is 100x the live data; what stays must be a small multiple of it
  // (SST overhead: index, filter, keys with sequence numbers, and one copy per key).
  EXPECT_LT(factor, 2.0);
  EXPECT_GT(stats.gc_objects_deleted, 0u);

  ASSERT_TRUE(db->Close().ok());
  db.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloudkv
