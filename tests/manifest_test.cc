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

}  // namespace
}  // namespace cloudkv
