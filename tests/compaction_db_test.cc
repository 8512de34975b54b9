// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// Compaction inside the DB: backpressure at the L0 triggers, CompactAll with snapshots and
// tombstones, the compaction filter, and flushes racing compactions against a FaultInjectingStore
// (the content must equal a std::map model, also after reopening).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "cloudkv/compaction_filter.h"
#include "cloudkv/db.h"
#include "db/manifest.h"
#include "store/fault_injecting_store.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

using Model = std::map<std::string, std::string>;

Model ReadAll(DB* db, const Snapshot* snapshot = nullptr) {
  Model m;
  ReadOptions ro;
  ro.snapshot = snapshot;
  auto it = db->NewIterator(ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) m[std::string(it->key())] = it->value();
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return m;
}

Manifest LatestManifest(const std::shared_ptr<ObjectStore>& store) {
  ManifestStore manifests(store, SystemClock());
  auto m = manifests.LoadLatest();
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : Manifest();
}

uint64_t EntriesInSsts(const Manifest& m) {
  uint64_t n = 0;
  for (const auto& f : m.l0()) n += f.num_entries();
  for (const auto& level : m.levels()) {
    for (const auto& f : level.ssts()) n += f.num_entries();
  }
  return n;
}

Options SmallOptions(std::shared_ptr<ObjectStore> store) {
  Options o;
  o.store = std::move(store);
  o.memtable_bytes = 16 * 1024;
  o.block_size = 512;
  o.target_sst_bytes = 8 * 1024;
  o.level1_target_bytes = 32 * 1024;
  o.level_size_ratio = 4;
  o.num_levels = 4;
  o.l0_compaction_trigger = 2;
  o.wal_flush_interval_ms = 5;
  return o;
}

TEST(CompactionDbTest, WritesStopAtTheL0TriggerWithoutCompaction) {
  Options o = SmallOptions(NewPrivateMemoryStore("bp"));
  o.disable_auto_compaction = true;
  o.l0_slowdown_writes_trigger = 2;
  o.l0_stop_writes_trigger = 3;
  o.write_stall_timeout_ms = 200;
  auto db = DB::Open("test://bp", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE((*db)->Put({}, "k" + std::to_string(i), "v").ok());
    ASSERT_TRUE((*db)->Flush().ok());
  }
  DBStats s = (*db)->GetStats();
  EXPECT_EQ(s.l0_files, 3u);
  EXPECT_GE(s.write_slowdowns, 1u);  // the third put met two L0 SSTs
  Status busy = (*db)->Put({}, "k3", "v");
  EXPECT_TRUE(busy.IsBusy()) << busy.ToString();
  EXPECT_GE((*db)->GetStats().write_stalls, 1u);

  // Compaction makes room again.
  ASSERT_TRUE((*db)->CompactAll().ok());
  s = (*db)->GetStats();
  EXPECT_EQ(s.l0_files, 0u);
  EXPECT_GE(s.compactions, 1u);
  ASSERT_TRUE((*db)->Put({}, "k3", "v").ok());
  EXPECT_EQ(ReadAll(db->get()).size(), 4u);
  ASSERT_TRUE((*db)->Close().ok());
}

TEST(CompactionDbTest, WritesProceedWhileCompactionKeepsUp) {
  Options o = SmallOptions(NewPrivateMemoryStore("bp-on"));
  o.l0_slowdown_writes_trigger = 3;
  o.l0_stop_writes_trigger = 4;
  o.write_stall_timeout_ms = 60'000;  // far above what compaction needs: Busy would be a bug
  auto db = DB::Open("test://bp-on", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  Model model;
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 20; i++) {
      std::string k = "k" + std::to_string((round * 7 + i) % 150);
      std::string v = std::string(100, 'a' + round % 26);
      ASSERT_TRUE((*db)->Put({.durable = false}, k, v).ok());
      model[k] = v;
    }
    ASSERT_TRUE((*db)->Flush().ok());  // one L0 SST per round: without compaction, Busy at 4
  }
  DBStats s = (*db)->GetStats();
  EXPECT_GE(s.compactions, 1u);
  EXPECT_LT(s.l0_files, 4u);
  EXPECT_EQ(ReadAll(db->get()), model);
  ASSERT_TRUE((*db)->Close().ok());
}

TEST(CompactionDbTest, CompactAllKeepsSnapshotsAndDropsGarbage) {
  auto store = NewPrivateMemoryStore("compact-all");
  Options o = SmallOptions(store);
  o.disable_auto_compaction = true;
  auto db = DB::Open("test://compact-all", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  Model model;
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 300; i++) {
      std::string k = "key" + std::to_string(i);
      std::string v = "r" + std::to_string(round) + "-" + std::to_string(i);
      ASSERT_TRUE((*db)->Put({.durable = false}, k, v).ok());
      model[k] = v;
    }
    ASSERT_TRUE((*db)->Flush().ok());
  }
  const Snapshot* snap = (*db)->GetSnapshot();
  const Model at_snapshot = model;
  for (int i = 0; i < 300; i += 2) {
    std::string k = "key" + std::to_string(i);
    ASSERT_TRUE((*db)->Delete({.durable = false}, k).ok());
    model.erase(k);
  }
  ASSERT_TRUE((*db)->CompactAll().ok());
  DBStats s = (*db)->GetStats();
  EXPECT_EQ(s.l0_files, 0u);
  ASSERT_EQ(s.level_files.size(), 3u);
  EXPECT_EQ(s.level_files[0] + s.level_files[1], 0u);  // everything in the last level
  EXPECT_GT(s.level_files[2], 0u);
  EXPECT_EQ(ReadAll(db->get()), model);
  EXPECT_EQ(ReadAll(db->get(), snap), at_snapshot);
  // The snapshot still needs the deleted keys' values and so their tombstones.
  EXPECT_EQ(EntriesInSsts(LatestManifest(store)), 300u + 150u);

  (*db)->ReleaseSnapshot(snap);
  ASSERT_TRUE((*db)->CompactAll().ok());
  EXPECT_EQ(ReadAll(db->get()), model);
  EXPECT_EQ(EntriesInSsts(LatestManifest(store)), 150u);  // live keys only
  s = (*db)->GetStats();
  EXPECT_GT(s.compaction_bytes_written, 0u);
  EXPECT_GT(s.write_amplification, 0);
  ASSERT_TRUE((*db)->Close().ok());

  auto reopened = DB::Open("test://compact-all", o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(ReadAll(reopened->get()), model);
}

class PrefixExpiry final : public CompactionFilter {
 public:
  Decision Filter(std::string_view, std::string_view value, uint64_t) const override {
    return value.starts_with("ttl:") ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "PrefixExpiry"; }
};

TEST(CompactionDbTest, CompactionFilterExpiresValuesWithoutResurrectingOlderOnes) {
  auto store = NewPrivateMemoryStore("filter");
  Options o = SmallOptions(store);
  o.disable_auto_compaction = true;
  o.compaction_filter = std::make_shared<PrefixExpiry>();
  auto db = DB::Open("test://filter", o);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Put({}, "a", "old").ok());
  ASSERT_TRUE((*db)->Put({}, "b", "kept").ok());
  ASSERT_TRUE((*db)->CompactAll().ok());  // "old" now in the last level
  ASSERT_TRUE((*db)->Put({}, "a", "ttl:expired").ok());
  ASSERT_TRUE((*db)->Flush().ok());
  EXPECT_EQ(*(*db)->Get({}, "a"), "ttl:expired");  // only compaction applies the filter
  ASSERT_TRUE((*db)->CompactAll().ok());
  auto got = (*db)->Get({}, "a");
  EXPECT_TRUE(got.status().IsNotFound()) << (got.ok() ? *got : got.status().ToString());
  EXPECT_EQ(*(*db)->Get({}, "b"), "kept");
  EXPECT_EQ(EntriesInSsts(LatestManifest(store)), 1u);
}

// Writers, flushes and background compactions commit concurrently through a store that fails
// requests, loses responses and delivers puts late.
TEST(CompactionDbTest, ConcurrentFlushesAndCompactionsOnAFaultyStore) {
  Random rnd(TestSeed("CompactionDbTest.Concurrent"));
  FaultOptions fo;
  fo.seed = rnd.seed();
  for (StoreOp op : {StoreOp::kPut, StoreOp::kDelete}) fo.For(op) = FaultRates{0.03, 0.03, 0.02};
  auto faulty = std::make_shared<FaultInjectingStore>(NewPrivateMemoryStore("race"), fo);
  Options o = SmallOptions(faulty);
  o.max_subcompactions = 3;
  o.l0_slowdown_writes_trigger = 6;
  o.l0_stop_writes_trigger = 12;
  o.write_stall_timeout_ms = 120'000;
  auto db = DB::Open("test://race", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();

  constexpr int kWriters = 2;
  const int ops = std::getenv("CLOUDKV_LONG") ? 20000 : 2500;
  std::vector<Model> models(kWriters);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; t++) {
    threads.emplace_back([&, t] {
      Random r(rnd.seed() + t + 1);
      for (int i = 0; i < ops && !failed; i++) {
        std::string k = "w" + std::to_string(t) + "-" + std::to_string(r.Uniform(400));
        Status s;
        if (r.OneIn(6)) {
          s = (*db)->Delete({.durable = false}, k);
          models[t].erase(k);
        } else {
          std::string v = r.Printable(20 + r.Uniform(150));
          s = (*db)->Put({.durable = false}, k, v);
          models[t][k] = v;
        }
        if (!s.ok()) {
          ADD_FAILURE() << "writer " << t << ": " << s.ToString();
          failed = true;
        }
      }
    });
  }
  std::thread flusher([&] {
    Random r(rnd.seed() + 100);
    for (int i = 0; i < 12 && !failed; i++) {
      Status s = i == 6 ? (*db)->CompactAll() : (*db)->Flush();
      if (!s.ok()) {
        ADD_FAILURE() << "flusher: " << s.ToString();
        failed = true;
      }
      faulty->ApplyPending(r.Uniform(4), r);  // late puts land now
      std::this_thread::sleep_for(std::chrono::milliseconds(r.Uniform(20)));
    }
  });
  for (auto& t : threads) t.join();
  flusher.join();
  ASSERT_FALSE(failed);
  Model model;
  for (const auto& m : models) model.insert(m.begin(), m.end());
  ASSERT_TRUE((*db)->Flush().ok());
  EXPECT_EQ(ReadAll(db->get()), model);
  for (int i = 0; i < 50; i++) {
    std::string k = "w" + std::to_string(i % kWriters) + "-" + std::to_string(rnd.Uniform(400));
    auto got = (*db)->Get({}, k);
    auto it = model.find(k);
    if (it == model.end()) {
      EXPECT_TRUE(got.status().IsNotFound()) << k;
    } else {
      ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
      EXPECT_EQ(*got, it->second);
    }
  }
  DBStats s = (*db)->GetStats();
  EXPECT_GT(s.compactions, 0u);
  std::printf(
      "compactions %llu (trivial %llu, failed %llu), faults injected: %llu errors, %llu "
      "lost, %llu deferred\n",
      static_cast<unsigned long long>(s.compactions),
      static_cast<unsigned long long>(s.trivial_moves),
      static_cast<unsigned long long>(s.compactions_failed),
      static_cast<unsigned long long>(faulty->Counts().Total(FaultKind::kError)),
      static_cast<unsigned long long>(faulty->Counts().Total(FaultKind::kLostResponse)),
      static_cast<unsigned long long>(faulty->Counts().Total(FaultKind::kDefer)));
  ASSERT_TRUE((*db)->Close().ok());
  db->reset();

  faulty->SetOptions(FaultOptions{});  // reopen on a clean store
  faulty->ApplyPending(SIZE_MAX, rnd);
  auto reopened = DB::Open("test://race", o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(ReadAll(reopened->get()), model);
  ASSERT_TRUE((*reopened)->CompactAll().ok());
  EXPECT_EQ(ReadAll(reopened->get()), model);
}

}  // namespace
}  // namespace cloudkv
