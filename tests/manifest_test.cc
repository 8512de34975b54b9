// SPDX-License-Identifier: Apache-2.0
#include "db/manifest.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::shared_ptr<ObjectStore> Fresh(const std::string& name) { return NewPrivateMemoryStore(name); }

TEST(Manifest, EncodeDecodeAndCorruption) {
  Manifest m;
  m.set_version(7);
  m.set_writer_epoch(3);
  m.set_replay_point(11);
  auto* sst = m.add_l0();
  sst->set_object_key("sst/a.sst");
  sst->set_size_bytes(1234);
  std::string key = ManifestObjectKey(7);
  std::string bytes = EncodeManifest(m);
  auto back = DecodeManifest(key, bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->writer_epoch(), 3u);
  EXPECT_EQ(back->l0(0).object_key(), "sst/a.sst");
  // Every flipped byte and every truncation is a Corruption naming the object.
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string bad = bytes;
    bad[i] ^= 0x40;
    auto r = DecodeManifest(key, bad);
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find(key), std::string::npos);
  }
  for (size_t n = 0; n < bytes.size(); n++) {
    EXPECT_TRUE(DecodeManifest(key, bytes.substr(0, n)).status().IsCorruption()) << n;
  }
  // A manifest stored under the wrong version's key is rejected.
  EXPECT_TRUE(DecodeManifest(ManifestObjectKey(8), bytes).status().IsCorruption());
}

TEST(Manifest, RefusesNewerReaderVersion) {
  Manifest m;
  m.set_version(1);
  m.set_min_reader_version(kManifestFormatVersion + 1);
  EXPECT_TRUE(DecodeManifest(ManifestObjectKey(1), EncodeManifest(m)).status().IsNotSupported());
}

TEST(ManifestStore, CreateCommitAndProbeForward) {
  auto store = Fresh("m1");
  ManifestStore ms(store, SystemClock());
  EXPECT_TRUE(ms.LoadLatest().status().IsNotFound());
  Manifest init;
  init.set_writer_epoch(1);
  auto created = ms.Create(init);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(ms.Create(init).status().IsPreconditionFailed());
  Manifest cur = *created;
  for (int i = 0; i < 40; i++) {
    auto next = ms.Commit(
        cur,
        [](const Manifest& latest, Manifest* n) {
          n->set_replay_point(latest.replay_point() + 1);
          return Status::OK();
        },
        "test");
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    cur = *next;
  }
  EXPECT_EQ(cur.version(), 41u);
  // A fresh reader finds the latest from the hint or a LIST and probes forward.
  ManifestStore other(store, SystemClock());
  auto latest = other.LoadLatest();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version(), 41u);
  EXPECT_EQ(latest->replay_point(), 40u);
  // Pruning the first versions (as GC does) still finds the latest.
  for (uint64_t v = 1; v <= 20; v++) ASSERT_TRUE(store->Delete(ManifestObjectKey(v)).ok());
  ASSERT_TRUE(store->Delete("manifest/LATEST").ok());
  ManifestStore third(store, SystemClock());
  EXPECT_EQ(third.LoadLatest()->version(), 41u);
}

TEST(ManifestStore, ConcurrentCommittersRecomputeEdits) {
  auto store = Fresh("m2");
  ManifestStore ms(store, SystemClock());
  ASSERT_TRUE(ms.Create(Manifest()).ok());
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      ManifestStore mine(store, SystemClock());
      for (int i = 0; i < kPerThread; i++) {
        auto base = mine.LoadLatest();
        ASSERT_TRUE(base.ok());
        auto r = mine.Commit(
            *base,
            [](const Manifest& latest, Manifest* n) {
              // A counter: lost updates would show as a smaller final value.
              n->set_next_sst_number(latest.next_sst_number() + 1);
              return Status::OK();
            },
            "t");
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto latest = ms.LoadLatest();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->next_sst_number(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(latest->version(), uint64_t{kThreads * kPerThread + 1});
}

TEST(ManifestStore, EditAbortPropagates) {
  auto store = Fresh("m3");
  ManifestStore ms(store, SystemClock());
  auto base = ms.Create(Manifest());
  ASSERT_TRUE(base.ok());
  auto r = ms.Commit(
      *base, [](const Manifest&, Manifest*) { return Status::Fenced("newer"); }, "t");
  EXPECT_TRUE(r.status().IsFenced());
  EXPECT_EQ(ms.LoadLatest()->version(), 1u);
}

// A database whose manifests carry GC settings (gc_min_age 2 s, skew 0.1 s) on a manual clock,
// with versions 1..n committed one second apart.
struct PrunableDb {
  std::shared_ptr<ObjectStore> store;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  Manifest latest;

  PrunableDb(const std::string& name, int versions) : store(Fresh(name)) {
    ManifestStore ms(store, clock);
    Manifest init;
    init.mutable_settings()->set_gc_min_age_micros(2'000'000);
    init.mutable_settings()->set_max_clock_skew_micros(100'000);
    latest = *ms.Create(init);
    for (int i = 1; i < versions; i++) {
      clock->Advance(1'000'000);
      latest = *ms.Commit(
          latest, [](const Manifest&, Manifest*) { return Status::OK(); }, "t");
    }
  }
  // What GC does: raise the boundary, then delete the versions below it.
  void Prune(uint64_t below) {
    ManifestStore ms(store, clock);
    ASSERT_TRUE(ms.RaiseBoundary(below).ok());
    for (uint64_t v = 1; v < below; v++) ASSERT_TRUE(store->Delete(ManifestObjectKey(v)).ok());
  }
};

TEST(ManifestBoundary, EncodeDecodeAndCorruption) {
  std::string bytes = EncodeManifestBoundary(42);
  EXPECT_EQ(*DecodeManifestBoundary(bytes), 42u);
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    auto r = DecodeManifestBoundary(bad);
    ASSERT_TRUE(r.status().IsCorruption()) << "flip at " << i;
    EXPECT_NE(r.status().message().find("manifest/BOUNDARY"), std::string::npos);
  }
  EXPECT_TRUE(DecodeManifestBoundary(bytes.substr(0, 20)).status().IsCorruption());
}

TEST(ManifestBoundary, RaiseIsMonotonicCas) {
  auto store = Fresh("b1");
  ManifestStore ms(store, SystemClock());
  auto none = ms.ReadBoundary();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->version, 0u);
  EXPECT_TRUE(none->etag.empty());
  ASSERT_TRUE(ms.RaiseBoundary(5).ok());
  EXPECT_EQ(ms.ReadBoundary()->version, 5u);
  ASSERT_TRUE(ms.RaiseBoundary(3).ok());  // never lowers
  EXPECT_EQ(ms.ReadBoundary()->version, 5u);
  // Racing raisers: the result is the largest, whatever the interleaving.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      ManifestStore mine(store, SystemClock());
      for (uint64_t v = 6 + t; v < 60; v += 4) ASSERT_TRUE(mine.RaiseBoundary(v).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ms.ReadBoundary()->version, 59u);
  // A damaged boundary is an error naming it, not a guess.
  ASSERT_TRUE(store->Put("manifest/BOUNDARY", "junk").ok());
  EXPECT_TRUE(ms.ReadBoundary().status().IsCorruption());
  EXPECT_TRUE(ms.RaiseBoundary(70).IsCorruption());
}

TEST(ManifestBoundary, LoadLatestFromBelowTheBoundary) {
  PrunableDb db("b2", 12);
  db.clock->Advance(10'000'000);  // every version is now older than gc_min_age
  // GC raised the boundary to 9 and deleted 3..8 but not yet 1 and 2 (deletes land in any
  // order): a probe from 2 stops at the hole at 3.
  ManifestStore gc(db.store, db.clock);
  ASSERT_TRUE(gc.RaiseBoundary(9).ok());
  for (uint64_t v = 3; v < 9; v++) ASSERT_TRUE(db.store->Delete(ManifestObjectKey(v)).ok());
  ManifestStore reader(db.store, db.clock);
  auto latest = reader.LoadLatest(2);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->version(), 12u);
  // A start point that is gone (and a stale LATEST hint) also ends at the latest.
  ASSERT_TRUE(db.store->Delete(ManifestObjectKey(1)).ok());
  ASSERT_TRUE(db.store->Delete(ManifestObjectKey(2)).ok());
  ManifestStore fresh(db.store, db.clock);
  EXPECT_EQ(fresh.LoadLatest(1)->version(), 12u);
  ManifestStore no_hint(db.store, db.clock);
  EXPECT_EQ(no_hint.LoadLatest()->version(), 12u);
}

TEST(ManifestBoundary, CommitAtOrBelowBoundaryFails) {
  PrunableDb db("b3", 10);
  Manifest stale = *ManifestStore(db.store, db.clock).Load(3);
  db.clock->Advance(10'000'000);
  db.Prune(9);
  // A committer whose base is version 3 would put version 4 into a slot GC emptied, where
  // create-if-absent succeeds. That must not count: the edit is recomputed from the latest.
  ManifestStore zombie(db.store, db.clock);
  std::vector<uint64_t> bases;
  auto r = zombie.Commit(
      stale,
      [&](const Manifest& latest, Manifest*) {
        bases.push_back(latest.version());
        return Status::OK();
      },
      "zombie");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version(), 11u);
  EXPECT_EQ(bases.back(), 10u);
  EXPECT_TRUE(db.store->Head(ManifestObjectKey(4)).status().IsNotFound());
  // A commit on a recent base needs no boundary read and works as before.
  ManifestStore writer(db.store, db.clock);
  EXPECT_EQ(writer
                .Commit(
                    *r, [](const Manifest&, Manifest*) { return Status::OK(); }, "w")
                ->version(),
            12u);
}

TEST(ManifestBoundary, CommitThatLandsBelowTheBoundaryIsUndone) {
  // GC prunes between the committer's boundary check and its put: the put lands in a pruned
  // slot. The committer notices (boundary read after the put), removes its object and commits
  // on top of the real latest.
  PrunableDb db("b4", 10);
  Manifest stale = *ManifestStore(db.store, db.clock).Load(3);
  db.clock->Advance(10'000'000);
  for (uint64_t v = 1; v < 9; v++) ASSERT_TRUE(db.store->Delete(ManifestObjectKey(v)).ok());
  ManifestStore zombie(db.store, db.clock);
  bool raised = false;
  auto r = zombie.Commit(
      stale,
      [&](const Manifest& latest, Manifest*) {
        if (!raised) {
          raised = true;  // GC's boundary move happens "during" the first attempt
          EXPECT_EQ(latest.version(), 3u);
          EXPECT_TRUE(ManifestStore(db.store, db.clock).RaiseBoundary(9).ok());
        }
        return Status::OK();
      },
      "zombie");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version(), 11u);
  EXPECT_TRUE(db.store->Head(ManifestObjectKey(4)).status().IsNotFound());
}

}  // namespace
}  // namespace cloudkv
