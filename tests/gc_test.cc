// SPDX-License-Identifier: Apache-2.0
// Garbage collection (docs/design.md §10, docs/engine.md): what it keeps, what it deletes, and that
// a randomized run of writes, flushes, reopens, clock advances and GC passes never loses an object
// a retained manifest references. Windows are seconds on a manual clock.
// Prints its seed; CLOUDKV_SEED repeats a run, CLOUDKV_GC_STEPS makes it longer.
#include "db/gc.h"

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cloudkv/db.h"
#include "db/manifest.h"
#include "format/wal_format.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

constexpr uint64_t kMinAgeMs = 2000;
constexpr uint64_t kSkewMs = 100;
constexpr uint64_t kFenceBytes = kWalHeaderBytes + kWalTrailerBytes;

// A pass-through store that logs mutating requests and can run a hook on puts, so tests can
// check the order of GC's requests and make an upload "slow" on the manual clock.
class RecordingStore final : public ObjectStore {
 public:
  explicit RecordingStore(std::shared_ptr<ObjectStore> base) : base_(std::move(base)) {}

  std::vector<std::string> TakeLog() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(log_, {});
  }
  void SetPutHook(std::function<void(std::string_view key)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    put_hook_ = std::move(hook);
  }

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    return base_->Get(key, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return base_->Head(key); }
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override {
    std::function<void(std::string_view)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back("put " + std::string(key));
      hook = put_hook_;
    }
    if (hook) hook(key);
    return base_->Put(key, data, options);
  }
  Status Delete(std::string_view key) override {
    Record("delete " + std::string(key));
    return base_->Delete(key);
  }
  Status DeleteMany(std::span<const std::string> keys) override {
    for (const auto& k : keys) Record("delete " + k);
    return base_->DeleteMany(keys);
  }
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override {
    return base_->List(prefix, start_after, limit);
  }
  StoreCapabilities capabilities() const override { return base_->capabilities(); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  void Record(std::string entry) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(std::move(entry));
  }
  const std::shared_ptr<ObjectStore> base_;
  std::mutex mu_;
  std::vector<std::string> log_;
  std::function<void(std::string_view)> put_hook_;
};

std::map<std::string, uint64_t> ListAll(ObjectStore* store, std::string_view prefix) {
  std::map<std::string, uint64_t> out;
  std::string after;
  while (true) {
    auto page = store->List(prefix, after, 100);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) return out;
    for (const auto& o : page->objects) out[o.key] = o.size;
    if (!page->truncated || page->objects.empty()) return out;
    after = page->objects.back().key;
  }
}

std::string SstKey(uint64_t micros, uint64_t random) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "sst/%013" PRIx64 "-%016" PRIx64 ".sst", micros, random);
  return buf;
}

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    url_ = "memory://gc-" + name;
    DropMemoryStore("gc-" + name);
    base_ = *OpenObjectStore(url_);
    store_ = std::make_shared<RecordingStore>(base_);
  }

  Options MakeOptions(uint64_t history_ms) {
    Options o;
    o.store = store_;
    o.clock = clock_;
    o.memtable_bytes = 16 * 1024;
    o.wal_flush_interval_ms = 1;
    o.block_cache_bytes = 0;
    o.memtable_max_age_ms = 1000ull * 3600 * 1000;  // only explicit flushes
    o.gc_interval_ms = 0;
    // Compaction only through explicit CompactAll steps: the tests compare listings with the
    // latest manifest, which a background compaction could commit in between.
    o.disable_auto_compaction = true;
    o.history_retention_ms = history_ms;
    o.gc_min_age_ms = kMinAgeMs;
    o.max_clock_skew_ms = kSkewMs;
    return o;
  }

  std::unique_ptr<DB> Open(uint64_t history_ms = 0) {
    auto db = DB::Open(url_, MakeOptions(history_ms));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  void Advance(uint64_t ms) { clock_->Advance(ms * 1000); }

  // The manifests GC must retain (the rule of docs/engine.md, recomputed here): the latest,
  // all committed within max(history, min age) + skew, and the newest one before that.
  std::vector<Manifest> RetainedManifests() {
    ManifestStore ms(base_, clock_);
    auto latest = ms.LoadLatest();
    EXPECT_TRUE(latest.ok()) << latest.status().ToString();
    std::vector<Manifest> out{*latest};
    const auto& st = latest->settings();
    const uint64_t window = std::max(st.history_retention_micros(), st.gc_min_age_micros()) +
                            st.max_clock_skew_micros();
    const uint64_t start = clock_->NowMicros() > window ? clock_->NowMicros() - window : 0;
    for (uint64_t v = latest->version(); out.back().commit_time_micros() >= start && v > 1;) {
      auto m = ms.Load(--v);
      if (!m.ok()) break;  // pruned: GC found it outside the window when it ran
      out.push_back(*m);
    }
    return out;
  }

  // Every object a retained manifest references exists; WAL ids from the oldest retained
  // replay point on have no holes; the boundary is at or below every retained version.
  void CheckRetainedObjectsExist() {
    auto retained = RetainedManifests();
    auto ssts = ListAll(base_.get(), "sst/");
    auto manifests = ListAll(base_.get(), "manifest/");
    auto wal = ListAll(base_.get(), "wal/");
    uint64_t min_replay = UINT64_MAX;
    for (const auto& m : retained) {
      ASSERT_TRUE(manifests.count(ManifestObjectKey(m.version()))) << m.version();
      min_replay = std::min(min_replay, m.replay_point());
      for (const auto& meta : m.l0()) {
        ASSERT_TRUE(ssts.count(meta.object_key()))
            << meta.object_key() << " of manifest " << m.version() << " is gone";
      }
      for (const auto& level : m.levels()) {
        for (const auto& meta : level.ssts()) ASSERT_TRUE(ssts.count(meta.object_key()));
      }
    }
    uint64_t expect = min_replay;
    for (auto it = wal.lower_bound(WalObjectKey(min_replay)); it != wal.end(); ++it, ++expect) {
      ASSERT_EQ(it->first, WalObjectKey(expect)) << "hole in the retained WAL range";
    }
    auto boundary = ManifestStore(base_, clock_).ReadBoundary();
    ASSERT_TRUE(boundary.ok());
    ASSERT_LE(boundary->version, retained.back().version());
    for (const auto& [key, size] : manifests) {
      if (key == "manifest/LATEST" || key == "manifest/BOUNDARY") continue;
      ASSERT_GE(*ParseManifestObjectKey(key), boundary->version) << key << " below the boundary";
    }
  }

  void CheckModel(DB* db, const std::map<std::string, std::string>& model) {
    auto it = db->NewIterator(ReadOptions());
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, model.end()) << "extra key " << it->key();
      ASSERT_EQ(it->key(), m->first);
      ASSERT_EQ(it->value(), m->second);
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(m, model.end()) << "missing key " << m->first;
  }

  std::string url_;
  std::shared_ptr<ObjectStore> base_;
  std::shared_ptr<RecordingStore> store_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
};

TEST_F(GcTest, RandomizedSafety) {
  Random rnd(TestSeed("GcTest.RandomizedSafety"));
  const char* steps_env = std::getenv("CLOUDKV_GC_STEPS");
  const int steps = steps_env ? std::atoi(steps_env) : 400;
  const uint64_t history_ms = 1000 * rnd.Uniform(4);  // 0..3 s, some runs below the min age
  auto db = Open(history_ms);
  ASSERT_TRUE(db);
  std::map<std::string, std::string> model;
  std::map<std::string, uint64_t> orphans;  // uncommitted SSTs we planted: key -> create time
  std::set<std::string> fences;
  uint64_t gc_calls = 0, deleted = 0;  // over every open of the run
  for (int step = 0; step < steps; step++) {
    SCOPED_TRACE("step " + std::to_string(step));
    const int op = rnd.Uniform(100);
    if (op < 45) {
      WriteBatch batch;
      for (int i = 0, n = 1 + rnd.Uniform(20); i < n; i++) {
        std::string key = "k" + std::to_string(rnd.Uniform(300));
        if (rnd.OneIn(5)) {
          batch.Delete(key);
          model.erase(key);
        } else {
          std::string value(rnd.Uniform(200), 'a' + rnd.Uniform(26));
          batch.Put(key, value);
          model[key] = value;
        }
      }
      ASSERT_TRUE(db->Write(WriteOptions(), batch).ok());
    } else if (op < 60) {
      ASSERT_TRUE(db->Flush().ok());
    } else if (op < 65) {
      Status s = db->CompactAll();
      ASSERT_TRUE(s.ok() || s.IsNotSupported()) << s.ToString();
    } else if (op < 70) {
      deleted += db->GetStats().gc_objects_deleted;
      ASSERT_TRUE(db->Close().ok());
      db = Open(history_ms);
      ASSERT_TRUE(db);
    } else if (op < 73) {
      std::string key = SstKey(clock_->NowMicros(), rnd.Next64());
      ASSERT_TRUE(base_->Put(key, "orphan").ok());
      orphans[key] = clock_->NowMicros();
    } else if (op < 85) {
      Advance(rnd.Uniform(1500));
    } else {
      ASSERT_TRUE(db->CollectGarbage().ok());
      gc_calls++;
    }
    CheckRetainedObjectsExist();
    if (HasFatalFailure()) return;
    CheckModel(db.get(), model);
    if (HasFatalFailure()) return;
    // Young orphans survive; fences are never deleted.
    auto ssts = ListAll(base_.get(), "sst/");
    for (const auto& [key, created] : orphans) {
      if (created + (kMinAgeMs + kSkewMs) * 1000 > clock_->NowMicros()) {
        ASSERT_TRUE(ssts.count(key)) << "young orphan " << key << " deleted";
      }
    }
    for (const auto& [key, size] : ListAll(base_.get(), "wal/")) {
      if (size == kFenceBytes) fences.insert(key);
    }
    auto wal = ListAll(base_.get(), "wal/");
    for (const auto& f : fences) ASSERT_TRUE(wal.count(f)) << "fence " << f << " deleted";
  }

  // Eventually: with the clock past every window and one pass, only what the latest manifest
  // (and the open DB's current state) needs is left.
  ASSERT_TRUE(db->Flush().ok());
  Advance(history_ms + kMinAgeMs + 2 * kSkewMs + 1000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  CheckRetainedObjectsExist();
  CheckModel(db.get(), model);
  ManifestStore ms(base_, clock_);
  Manifest latest = *ms.LoadLatest();
  std::set<std::string> referenced;
  for (const auto& meta : latest.l0()) referenced.insert(meta.object_key());
  for (const auto& level : latest.levels()) {
    for (const auto& meta : level.ssts()) referenced.insert(meta.object_key());
  }
  for (const auto& [key, size] : ListAll(base_.get(), "sst/")) {
    EXPECT_TRUE(referenced.count(key)) << "unreferenced old SST " << key << " survived";
  }
  for (const auto& [key, size] : ListAll(base_.get(), "wal/")) {
    if (*ParseWalObjectKey(key) < latest.replay_point()) {
      EXPECT_EQ(size, kFenceBytes) << "WAL object " << key << " below the replay point survived";
    }
  }
  auto manifests = ListAll(base_.get(), "manifest/");
  manifests.erase("manifest/LATEST");
  manifests.erase("manifest/BOUNDARY");
  ASSERT_EQ(manifests.size(), 1u);
  EXPECT_EQ(manifests.begin()->first, ManifestObjectKey(latest.version()));
  EXPECT_EQ(ms.ReadBoundary()->version, latest.version());
  DBStats stats = db->GetStats();
  EXPECT_GE(stats.gc_runs, 1u);
  EXPECT_EQ(stats.gc_objects_deleted,
            stats.gc_manifests_deleted + stats.gc_ssts_deleted + stats.gc_wal_objects_deleted);
  deleted += stats.gc_objects_deleted;
  std::fprintf(stderr,
               "gc safety: history %" PRIu64 " ms, %d steps, %" PRIu64 " GC passes deleted %" PRIu64
               " objects, %zu fences kept\n",
               history_ms, steps, gc_calls + 1, deleted, fences.size());
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, FencesSurviveAndManifestsArePrunedAsAPrefixAfterTheBoundary) {
  for (int round = 0; round < 4; round++) {
    auto db = Open();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->Put(WriteOptions(), "k" + std::to_string(round), "v").ok());
    ASSERT_TRUE(db->Flush().ok());
    ASSERT_TRUE(db->Close().ok());
    Advance(1000);
  }
  auto wal_before = ListAll(base_.get(), "wal/");
  std::set<std::string> fences;
  for (const auto& [key, size] : wal_before) {
    if (size == kFenceBytes) fences.insert(key);
  }
  ASSERT_GE(fences.size(), 4u);  // one per open
  auto db = Open();
  ASSERT_TRUE(db);
  Advance(kMinAgeMs + kSkewMs + 2000);
  store_->TakeLog();
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto log = store_->TakeLog();
  // The boundary moved before the first manifest was deleted.
  auto boundary_put = std::find(log.begin(), log.end(), "put manifest/BOUNDARY");
  auto first_delete = std::find_if(log.begin(), log.end(), [](const std::string& e) {
    return e.rfind("delete manifest/", 0) == 0;
  });
  ASSERT_NE(first_delete, log.end()) << "nothing pruned";
  ASSERT_LT(boundary_put, first_delete);
  // Fences all survive; the data WAL objects below the replay point are gone.
  auto wal_after = ListAll(base_.get(), "wal/");
  for (const auto& f : fences) EXPECT_TRUE(wal_after.count(f)) << f;
  EXPECT_LT(wal_after.size(), wal_before.size() + 1);
  // What is left of manifest/ is a contiguous run ending at the latest, starting at BOUNDARY.
  ManifestStore ms(base_, clock_);
  Manifest latest = *ms.LoadLatest();
  uint64_t boundary = ms.ReadBoundary()->version;
  std::vector<uint64_t> versions;
  for (const auto& [key, size] : ListAll(base_.get(), "manifest/")) {
    auto v = ParseManifestObjectKey(key);
    if (v.ok()) versions.push_back(*v);
  }
  ASSERT_FALSE(versions.empty());
  EXPECT_EQ(versions.front(), boundary);
  EXPECT_EQ(versions.back(), latest.version());
  EXPECT_EQ(versions.size(), latest.version() - boundary + 1);
  // A reader whose hint is below the boundary still finds the latest.
  ManifestStore reader(base_, clock_);
  auto found = reader.LoadLatest(1);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->version(), latest.version());
  auto ro_options = MakeOptions(0);
  ro_options.read_only = true;
  auto ro = DB::Open(url_, ro_options);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ((*ro)->Get(ReadOptions(), "k3").value_or("<missing>"), "v");
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, FencedWriterDeletesNothing) {
  auto old_writer = Open();
  ASSERT_TRUE(old_writer);
  ASSERT_TRUE(old_writer->Put(WriteOptions(), "a", "1").ok());
  ASSERT_TRUE(old_writer->Flush().ok());
  const std::string orphan = SstKey(clock_->NowMicros(), 7);
  ASSERT_TRUE(base_->Put(orphan, "orphan").ok());
  Advance(kMinAgeMs + kSkewMs + 1000);
  auto new_writer = Open();  // takes the next epoch
  ASSERT_TRUE(new_writer);
  auto before = ListAll(base_.get(), "");
  Status s = old_writer->CollectGarbage();
  EXPECT_TRUE(s.IsFenced()) << s.ToString();
  EXPECT_EQ(ListAll(base_.get(), ""), before);
  EXPECT_EQ(old_writer->GetStats().gc_objects_deleted, 0u);
  // The current writer collects the old orphan.
  ASSERT_TRUE(new_writer->CollectGarbage().ok());
  EXPECT_FALSE(ListAll(base_.get(), "sst/").count(orphan));
  EXPECT_GE(new_writer->GetStats().gc_ssts_deleted, 1u);
  ASSERT_TRUE(new_writer->Close().ok());
}

TEST_F(GcTest, ZombieLearnsItIsFencedAfterItsNextVersionWasPruned) {
  auto zombie = Open();
  ASSERT_TRUE(zombie);
  ASSERT_TRUE(zombie->Put(WriteOptions(), "a", "old").ok());
  ASSERT_TRUE(zombie->Flush().ok());
  Advance(1000);
  auto writer = Open();  // commits the version right after the zombie's
  ASSERT_TRUE(writer);
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(writer->Put(WriteOptions(), "a", "new" + std::to_string(i)).ok());
    ASSERT_TRUE(writer->Flush().ok());
  }
  Advance(kMinAgeMs + kSkewMs + 10'000);  // also past epoch_check_interval
  ASSERT_TRUE(writer->CollectGarbage().ok());
  ASSERT_GE(writer->GetStats().gc_manifests_deleted, 2u);
  // The version after the zombie's is gone; the boundary tells it newer ones exist.
  auto r = zombie->Get(ReadOptions(), "a");
  EXPECT_TRUE(r.status().IsFenced()) << (r.ok() ? "stale read: " + *r : r.status().ToString());
  ASSERT_TRUE(writer->Close().ok());
}

TEST_F(GcTest, YoungOrphanSurvivesOldOrphanGoes) {
  auto db = Open();
  ASSERT_TRUE(db);
  const std::string orphan = SstKey(clock_->NowMicros(), 1);
  const std::string unparseable = "sst/not-a-cloudkv-name.sst";
  ASSERT_TRUE(base_->Put(orphan, "uploaded, never committed").ok());
  ASSERT_TRUE(base_->Put(unparseable, "?").ok());
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_TRUE(ListAll(base_.get(), "sst/").count(orphan));
  Advance(kMinAgeMs);  // exactly gc_min_age: the skew allowance still protects it
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_TRUE(ListAll(base_.get(), "sst/").count(orphan));
  Advance(kSkewMs + 1);
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto ssts = ListAll(base_.get(), "sst/");
  EXPECT_FALSE(ssts.count(orphan));
  EXPECT_TRUE(ssts.count(unparseable)) << "a name GC cannot date must never be deleted";
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, IteratorOpenedBeforeGcKeepsWorking) {
  auto db = Open(/*history_ms=*/0);
  ASSERT_TRUE(db);
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(db->Put(WriteOptions(), "key" + std::to_string(1000 + i), "v").ok());
  }
  ASSERT_TRUE(db->Flush().ok());
  auto it = db->NewIterator(ReadOptions());  // pins the Version with the SST; reads nothing yet

  // A compaction elsewhere replaces the SST by a copy under a new name (what a trivial
  // rewrite would commit), and the writer moves on to a Version without the old one.
  ManifestStore ms(base_, clock_);
  Manifest latest = *ms.LoadLatest();
  ASSERT_EQ(latest.l0_size(), 1);
  const std::string old_key = latest.l0(0).object_key();
  const std::string new_key = SstKey(clock_->NowMicros(), 99);
  ASSERT_TRUE(base_->Put(new_key, base_->Get(old_key)->data).ok());
  ASSERT_TRUE(ms.Commit(
                    latest,
                    [&](const Manifest&, Manifest* next) {
                      next->mutable_l0(0)->set_object_key(new_key);
                      return Status::OK();
                    },
                    "compactor")
                  .ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "zzz", "after").ok());
  ASSERT_TRUE(db->Flush().ok());
  Advance(kMinAgeMs + kSkewMs + 1000);

  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_TRUE(ListAll(base_.get(), "sst/").count(old_key)) << "an iterator still reads it";
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(n, 100);
  it.reset();
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_FALSE(ListAll(base_.get(), "sst/").count(old_key)) << "released, so collected";
  EXPECT_EQ(db->Get(ReadOptions(), "key1050").value_or("<missing>"), "v");
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, SlowFlushCommitAbortsAndLeavesAnOrphan) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Put(WriteOptions(), "a", "1").ok());
  // The first SST upload "takes" longer than half of gc_min_age on the manual clock.
  std::atomic<int> slow_uploads{0};
  std::string slow_key;
  store_->SetPutHook([&](std::string_view key) {
    if (key.rfind("sst/", 0) == 0 && slow_uploads.fetch_add(1) == 0) {
      slow_key = std::string(key);
      clock_->Advance(kMinAgeMs * 1000 / 2 + 1);
    }
  });
  ASSERT_TRUE(db->Flush().ok());
  store_->SetPutHook(nullptr);
  ASSERT_EQ(slow_uploads.load(), 2) << "the flush was redone with a new SST";
  ManifestStore ms(base_, clock_);
  Manifest latest = *ms.LoadLatest();
  ASSERT_EQ(latest.l0_size(), 1);
  EXPECT_NE(latest.l0(0).object_key(), slow_key);
  EXPECT_TRUE(ListAll(base_.get(), "sst/").count(slow_key)) << "left for GC";
  Advance(kMinAgeMs + kSkewMs + 1000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_FALSE(ListAll(base_.get(), "sst/").count(slow_key));
  EXPECT_EQ(db->Get(ReadOptions(), "a").value_or("<missing>"), "1");
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, CheckpointPinsItsManifest) {
  // Checkpoints land with their own issue; GC already honours their pins. A checkpoint without
  // a copy under checkpoint/ keeps its manifest version (and so the prefix below it) and SSTs.
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Put(WriteOptions(), "a", "1").ok());
  ASSERT_TRUE(db->Flush().ok());
  ManifestStore ms(base_, clock_);
  Manifest pinned = *ms.LoadLatest();
  ASSERT_TRUE(ms.Commit(
                    pinned,
                    [&](const Manifest&, Manifest* next) {
                      auto* cp = next->add_checkpoints();
                      cp->set_id("cp1");
                      cp->set_manifest_version(pinned.version());
                      next->clear_l0();  // as if compaction had replaced every SST
                      return Status::OK();
                    },
                    "admin")
                  .ok());
  ASSERT_TRUE(db->Close().ok());  // the DB's Versions no longer pin anything
  db = Open();
  ASSERT_TRUE(db);
  Advance(kMinAgeMs + kSkewMs + 5000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_TRUE(base_->Head(ManifestObjectKey(pinned.version())).ok());
  EXPECT_TRUE(base_->Head(pinned.l0(0).object_key()).ok());
  EXPECT_LE(ms.ReadBoundary()->version, pinned.version());
  // With a copy under checkpoint/, the pinned version may be pruned; the SST stays.
  ASSERT_TRUE(
      base_->Put("checkpoint/cp1.manifest", base_->Get(ManifestObjectKey(pinned.version()))->data)
          .ok());
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_TRUE(base_->Head(ManifestObjectKey(pinned.version())).status().IsNotFound());
  EXPECT_TRUE(base_->Head(pinned.l0(0).object_key()).ok());
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, CheckpointPinsItsWalRange) {
  auto db = Open();
  ASSERT_TRUE(db);
  for (int i = 0; i < 6; i++) {  // durable writes: one WAL object each
    ASSERT_TRUE(db->Put(WriteOptions(), "k" + std::to_string(i), "v").ok());
  }
  ASSERT_TRUE(db->Flush().ok());
  ManifestStore ms(base_, clock_);
  Manifest latest = *ms.LoadLatest();
  std::vector<uint64_t> data_ids;
  for (const auto& [key, size] : ListAll(base_.get(), "wal/")) {
    uint64_t id = *ParseWalObjectKey(key);
    if (size != kFenceBytes && id < latest.replay_point()) data_ids.push_back(id);
  }
  ASSERT_GE(data_ids.size(), 4u);
  // A checkpoint whose copy pins the WAL range of its two middle objects.
  Manifest pinned = latest;
  pinned.set_replay_point(data_ids[1]);
  pinned.set_next_wal_id(data_ids[3]);
  ASSERT_TRUE(base_->Put("checkpoint/cp2.manifest", EncodeManifest(pinned)).ok());
  ASSERT_TRUE(ms.Commit(
                    latest,
                    [&](const Manifest&, Manifest* next) {
                      auto* cp = next->add_checkpoints();
                      cp->set_id("cp2");
                      cp->set_manifest_version(latest.version());
                      return Status::OK();
                    },
                    "admin")
                  .ok());
  Advance(kMinAgeMs + kSkewMs + 5000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto wal = ListAll(base_.get(), "wal/");
  for (uint64_t id : data_ids) {
    const bool in_range = id >= data_ids[1] && id < data_ids[3];
    EXPECT_EQ(wal.count(WalObjectKey(id)) == 1, in_range) << "WAL id " << id;
  }
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(GcTest, BackgroundPassRunsInTheWriterOnly) {
  auto options = MakeOptions(0);
  options.gc_interval_ms = 10;
  auto db = DB::Open(url_, options);
  ASSERT_TRUE(db.ok());
  // Waits for the background thread (no timing is asserted; the bound only stops a hang).
  for (int i = 0; i < 3000 && (*db)->GetStats().gc_runs == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE((*db)->GetStats().gc_runs, 1u);
  ASSERT_TRUE((*db)->Close().ok());
  options.read_only = true;
  auto ro = DB::Open(url_, options);
  ASSERT_TRUE(ro.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ((*ro)->GetStats().gc_runs, 0u);
  ASSERT_TRUE((*ro)->CollectGarbage().ok());  // explicit passes work read-only (cloudkv gc)
  EXPECT_EQ((*ro)->GetStats().gc_runs, 1u);
}

TEST_F(GcTest, RefusesToCreateWithMinAgeNotAboveSkew) {
  auto options = MakeOptions(0);
  options.gc_min_age_ms = options.max_clock_skew_ms;
  auto db = DB::Open(url_, options);
  ASSERT_TRUE(db.status().IsInvalidArgument()) << db.status().ToString();
  EXPECT_NE(db.status().message().find("gc_min_age_ms"), std::string::npos);
}

TEST_F(GcTest, CancelledCollectorStopsAndDeletesNothing) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Close().ok());
  const std::string orphan = SstKey(clock_->NowMicros(), 3);
  ASSERT_TRUE(base_->Put(orphan, "orphan").ok());
  Advance(kMinAgeMs + kSkewMs + 1000);
  ManifestStore ms(base_, clock_);
  GarbageCollector gc(base_, &ms, clock_);
  gc.Cancel();
  EXPECT_TRUE(gc.RunOnce().status().IsBusy());
  EXPECT_TRUE(base_->Head(orphan).ok());
  GarbageCollector fresh(base_, &ms, clock_);
  auto pass = fresh.RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->ssts_deleted, 1u);
  EXPECT_TRUE(base_->Head(orphan).status().IsNotFound());
}

TEST(GarbageCollector, ParsesSstNames) {
  EXPECT_EQ(*GarbageCollector::ParseSstCreateMicros(SstKey(0x123456789abcd, 5)), 0x123456789abcdu);
  for (const char* bad : {"sst/x.sst", "sst/0000000000000-000000000000000g.sst",
                          "sst/000000000000A-0000000000000000.sst", "wal/1.wal",
                          "sst/0000000000000-0000000000000000.ss", ""}) {
    EXPECT_FALSE(GarbageCollector::ParseSstCreateMicros(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cloudkv
