// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// Behaviour of the DB API on real stores (memory:// and file://).
#include "cloudkv/db.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string TempDirUrl(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("cloudkv-dbtest-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return "file://" + dir.string();
}

Options SmallOptions() {
  Options o;
  o.memtable_bytes = 64 * 1024;
  o.wal_flush_interval_ms = 5;
  o.block_cache_bytes = 1 << 20;
  return o;
}

std::unique_ptr<DB> MustOpen(const std::string& url, const Options& o = SmallOptions()) {
  auto db = DB::Open(url, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

std::string MustGet(DB* db, std::string_view key, const ReadOptions& ro = {}) {
  auto r = db->Get(ro, key);
  return r.ok() ? *r : "<" + std::string(StatusCodeName(r.status().code())) + ">";
}

class DBTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Url() {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string clean;
    for (char c : name) clean += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (GetParam() == "memory") {
      DropMemoryStore(clean);
      return "memory://" + clean;
    }
    return TempDirUrl(clean);
  }
};

TEST_P(DBTest, PutGetDeleteBatch) {
  auto db = MustOpen(Url());
  ASSERT_TRUE(db);
  WriteOptions wo;
  ASSERT_TRUE(db->Put(wo, "a", "1").ok());
  ASSERT_TRUE(db->Put(wo, "b", "2").ok());
  EXPECT_EQ(MustGet(db.get(), "a"), "1");
  ASSERT_TRUE(db->Delete(wo, "a").ok());
  EXPECT_EQ(MustGet(db.get(), "a"), "<NotFound>");
  WriteBatch batch;
  batch.Put("c", "3");
  batch.Put("b", "22");
  batch.Delete("zz");
  uint64_t seq = 0;
  ASSERT_TRUE(db->Write(wo, batch, &seq).ok());
  EXPECT_GT(seq, 0u);
  EXPECT_EQ(MustGet(db.get(), "b"), "22");
  EXPECT_EQ(MustGet(db.get(), "c"), "3");
  std::vector<std::string_view> keys = {"a", "b", "c"};
  auto multi = db->MultiGet({}, keys);
  ASSERT_EQ(multi.size(), 3u);
  EXPECT_TRUE(multi[0].status().IsNotFound());
  EXPECT_EQ(*multi[1], "22");
  EXPECT_EQ(*multi[2], "3");
  EXPECT_TRUE(db->Close().ok());
}

TEST_P(DBTest, OversizeEntriesAreRejectedAndNothingIsWritten) {
  Options o = SmallOptions();
  o.max_key_bytes = 16;
  o.max_value_bytes = 100;
  auto db = MustOpen(Url(), o);
  ASSERT_TRUE(db);
  WriteBatch batch;
  batch.Put("ok", "v");
  batch.Put(std::string(17, 'k'), "v");
  Status s = db->Write({}, batch);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("max_key_bytes"), std::string::npos);
  EXPECT_TRUE(db->Put({}, "k", std::string(101, 'v')).IsInvalidArgument());
  EXPECT_EQ(MustGet(db.get(), "ok"), "<NotFound>");  // the whole batch was refused
}

TEST_P(DBTest, ReadsSeeDurableDataUnlessAskedForMore) {
  Options o = SmallOptions();
  o.wal_flush_interval_ms = 60'000;  // non-durable writes stay buffered
  o.wal_max_bytes = 1 << 30;
  auto db = MustOpen(Url(), o);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Put({.durable = false}, "k", "v").ok());
  EXPECT_EQ(MustGet(db.get(), "k"), "<NotFound>");
  ReadOptions unflushed;
  unflushed.read_unflushed = true;
  EXPECT_EQ(MustGet(db.get(), "k", unflushed), "v");
  ASSERT_TRUE(db->Put({}, "other", "x").ok());  // a durable write makes the earlier one durable
  EXPECT_EQ(MustGet(db.get(), "k"), "v");
}

TEST_P(DBTest, IteratorsBoundsAndSnapshots) {
  auto db = MustOpen(Url());
  ASSERT_TRUE(db);
  for (int i = 0; i < 50; i++) {
    char k[16];
    std::snprintf(k, sizeof(k), "k%02d", i);
    ASSERT_TRUE(db->Put({}, k, std::to_string(i)).ok());
  }
  const Snapshot* snap = db->GetSnapshot();
  ASSERT_TRUE(db->Put({}, "k10", "changed").ok());
  ASSERT_TRUE(db->Delete({}, "k11").ok());
  ASSERT_TRUE(db->Flush().ok());  // half of the data in an SST, the rest in the memtable
  ASSERT_TRUE(db->Put({}, "k12", "new").ok());

  ReadOptions ro;
  ro.lower_bound = "k10";
  ro.upper_bound = "k15";
  auto it = db->NewIterator(ro);
  std::vector<std::string> seen;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    seen.push_back(std::string(it->key()) + "=" + std::string(it->value()));
  }
  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"k10=changed", "k12=new", "k13=13", "k14=14"}));
  seen.clear();
  for (it->SeekToLast(); it->Valid(); it->Prev()) seen.push_back(std::string(it->key()));
  EXPECT_EQ(seen, (std::vector<std::string>{"k14", "k13", "k12", "k10"}));

  ReadOptions at;
  at.snapshot = snap;
  EXPECT_EQ(MustGet(db.get(), "k10", at), "10");
  EXPECT_EQ(MustGet(db.get(), "k11", at), "11");
  auto old = db->NewIterator(at);
  old->Seek("k10");
  ASSERT_TRUE(old->Valid());
  EXPECT_EQ(old->value(), "10");
  old->Next();
  ASSERT_TRUE(old->Valid());
  EXPECT_EQ(old->key(), "k11");
  db->ReleaseSnapshot(snap);
}

TEST_P(DBTest, ReopenRecoversFromTheStoreAlone) {
  const std::string url = Url();
  Random rnd(TestSeed("DBTest.ReopenRecoversFromTheStoreAlone"));
  std::map<std::string, std::string> model;
  for (int round = 0; round < 4; round++) {
    auto db = MustOpen(url);
    ASSERT_TRUE(db);
    for (const auto& [k, v] : model) ASSERT_EQ(MustGet(db.get(), k), v) << "round " << round;
    for (int i = 0; i < 400; i++) {
      std::string k = "key" + std::to_string(rnd.Uniform(300));
      if (rnd.OneIn(5)) {
        ASSERT_TRUE(db->Delete({.durable = false}, k).ok());
        model.erase(k);
      } else {
        std::string v = rnd.Printable(rnd.Uniform(200));
        ASSERT_TRUE(db->Put({.durable = false}, k, v).ok());
        model[k] = v;
      }
    }
    if (round % 2 == 1) {
      ASSERT_TRUE(db->Flush().ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = MustOpen(url);
  ASSERT_TRUE(db);
  auto it = db->NewIterator({});
  auto expect = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expect) {
    ASSERT_NE(expect, model.end());
    EXPECT_EQ(it->key(), expect->first);
    EXPECT_EQ(it->value(), expect->second);
  }
  EXPECT_EQ(expect, model.end());
  EXPECT_GE(db->GetStats().writer_epoch, 5u);
}

TEST_P(DBTest, SecondWriterFencesTheFirst) {
  const std::string url = Url();
  auto first = MustOpen(url);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->Put({}, "a", "from-first").ok());
  auto second = MustOpen(url);
  ASSERT_TRUE(second);
  EXPECT_EQ(MustGet(second.get(), "a"), "from-first");
  Status s = first->Put({}, "b", "zombie");
  EXPECT_TRUE(s.IsFenced()) << s.ToString();
  EXPECT_TRUE(first->Put({}, "c", "zombie").IsFenced());
  ASSERT_TRUE(second->Put({}, "b", "from-second").ok());
  first.reset();
  second.reset();
  auto third = MustOpen(url);
  ASSERT_TRUE(third);
  EXPECT_EQ(MustGet(third.get(), "b"), "from-second");
  EXPECT_EQ(MustGet(third.get(), "c"), "<NotFound>");
}

TEST_P(DBTest, ConcurrentDurableWritersShareUploads) {
  auto db = MustOpen(Url());
  ASSERT_TRUE(db);
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        ASSERT_TRUE(db->Put({}, "t" + std::to_string(t) + "-" + std::to_string(i), "v").ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  DBStats stats = db->GetStats();
  EXPECT_EQ(stats.durable_sequence, uint64_t{kThreads * kPerThread});
  EXPECT_LE(stats.wal_uploads, uint64_t{kThreads * kPerThread});
  for (int t = 0; t < kThreads; t++) {
    EXPECT_EQ(MustGet(db.get(), "t" + std::to_string(t) + "-" + std::to_string(kPerThread - 1)),
              "v");
  }
}

TEST_P(DBTest, ReadOnlyOpenSeesCommittedDataAndRefusesWrites) {
  const std::string url = Url();
  auto db = MustOpen(url);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Put({}, "k", "v").ok());
  Options ro = SmallOptions();
  ro.read_only = true;
  auto reader = MustOpen(url, ro);
  ASSERT_TRUE(reader);
  EXPECT_EQ(MustGet(reader.get(), "k"), "v");
  EXPECT_TRUE(reader->Put({}, "x", "y").IsNotSupported());
  // An empty batch is refused too (it has no WAL to wait on), synchronously for WriteAsync.
  EXPECT_TRUE(reader->Write({}, WriteBatch()).IsNotSupported());
  Status async_status;
  reader->WriteAsync(WriteBatch(), [&](Status s, uint64_t) { async_status = std::move(s); });
  EXPECT_TRUE(async_status.IsNotSupported()) << async_status.ToString();
  // The reader did not fence the writer.
  EXPECT_TRUE(db->Put({}, "k2", "v2").ok());
}

// After Close, calls say so (InvalidArgument "... is closed"); empty batches included.
TEST_P(DBTest, CallsAfterCloseAreRefused) {
  auto db = MustOpen(Url());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Put({}, "k", "v").ok());
  ASSERT_TRUE(db->Close().ok());
  EXPECT_TRUE(db->Close().ok()) << "a second Close is OK";
  for (Status s : {db->Put({}, "k", "v2"), db->Write({}, WriteBatch()), db->Flush(),
                   db->CompactAll(), db->CollectGarbage(), db->Get({}, "k").status()}) {
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find("is closed"), std::string::npos) << s.ToString();
  }
  auto it = db->NewIterator({});
  ASSERT_NE(it, nullptr);
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsInvalidArgument()) << it->status().ToString();
  EXPECT_TRUE(db->WaitForDurable(1).ok());  // the write before Close is durable
}

// ManagedSnapshot: a snapshot that releases itself. It is a real snapshot (compaction keeps
// what it reads), moves transfer it, and it is released exactly once (ASan would catch a
// double release).
TEST_P(DBTest, ManagedSnapshotReadsAndReleasesItself) {
  auto db = MustOpen(Url());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Put({}, "k", "old").ok());
  std::optional<ManagedSnapshot> outer;
  {
    ManagedSnapshot snapshot(*db);
    ASSERT_NE(snapshot.get(), nullptr);
    ASSERT_TRUE(db->Put({}, "k", "new").ok());
    ASSERT_TRUE(db->CompactAll().ok());
    ReadOptions at;
    at.snapshot = snapshot.get();
    EXPECT_EQ(MustGet(db.get(), "k", at), "old");
    EXPECT_EQ(MustGet(db.get(), "k"), "new");
    const Snapshot* raw = snapshot.get();
    outer.emplace(std::move(snapshot));
    EXPECT_EQ(snapshot.get(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(outer->get(), raw);
  }  // the moved-from handle releases nothing
  ReadOptions at;
  at.snapshot = outer->get();
  EXPECT_EQ(MustGet(db.get(), "k", at), "old");

  ManagedSnapshot second(*db);
  second = std::move(*outer);  // releases the newer snapshot, takes the older
  at.snapshot = second.get();
  EXPECT_EQ(MustGet(db.get(), "k", at), "old");
  second.Reset();
  EXPECT_EQ(second.get(), nullptr);
  second.Reset();  // nothing to release twice
  outer.reset();
  // With no snapshot left, a full compaction drops the old version; reads see the newest.
  ASSERT_TRUE(db->CompactAll().ok());
  EXPECT_EQ(MustGet(db.get(), "k"), "new");
}

// prepopulate_block_cache: after a flush and after a compaction every read hits the block
// cache (no object GET); without it the first reads of each block miss. Every value is right
// either way.
TEST_P(DBTest, WrittenBlocksArePrepopulatedIntoTheCache) {
  for (bool prepopulate : {true, false}) {
    SCOPED_TRACE(prepopulate ? "prepopulate" : "no prepopulate");
    Options o = SmallOptions();
    o.memtable_bytes = 1 << 20;
    o.block_cache_bytes = 8 << 20;
    o.prepopulate_block_cache = prepopulate;
    auto db = MustOpen(Url() + (prepopulate ? "p" : "n"), o);
    ASSERT_TRUE(db);
    constexpr int kKeys = 3000;
    auto key = [](int i) { return "key" + std::to_string(i * 7919 % kKeys); };
    WriteBatch batch;
    for (int i = 0; i < kKeys; i++) batch.Put(key(i), std::string(100, char('a' + i % 26)));
    ASSERT_TRUE(db->Write({}, batch).ok());
    ASSERT_TRUE(db->Flush().ok());
    auto read_all = [&] {
      const uint64_t misses = db->GetStats().block_cache_misses;
      for (int i = 0; i < kKeys; i++) {
        EXPECT_EQ(MustGet(db.get(), key(i)), std::string(100, char('a' + i % 26))) << i;
      }
      return db->GetStats().block_cache_misses - misses;
    };
    if (prepopulate) {
      EXPECT_EQ(read_all(), 0u);
    } else {
      EXPECT_GT(read_all(), 0u);
    }
    // Overwrite half, flush, compact: the compaction's output replaces the inputs in the cache.
    WriteBatch more;
    for (int i = 0; i < kKeys; i += 2) more.Put(key(i), std::string(100, char('a' + i % 26)));
    ASSERT_TRUE(db->Write({}, more).ok());
    ASSERT_TRUE(db->Flush().ok());
    ASSERT_TRUE(db->CompactAll().ok());
    if (prepopulate) {
      EXPECT_EQ(read_all(), 0u);
    } else {
      EXPECT_GT(read_all(), 0u);
    }
    // Retired SSTs' blocks are gone from the cache: it holds about one copy of the data.
    EXPECT_LT(db->GetStats().block_cache_bytes, uint64_t{kKeys} * 200);
  }
}

// ReadOptions::fill_cache = false: reads and scans use cached blocks but add none, so a one-off
// scan does not evict the working set.
TEST_P(DBTest, ReadsWithoutFillCacheAddNothingToTheCache) {
  Options o = SmallOptions();
  o.memtable_bytes = 1 << 20;
  o.block_cache_bytes = 8 << 20;
  o.prepopulate_block_cache = false;
  auto db = MustOpen(Url(), o);
  ASSERT_TRUE(db);
  constexpr int kKeys = 2000;
  auto key = [](int i) { return "key" + std::to_string(i); };
  WriteBatch batch;
  for (int i = 0; i < kKeys; i++) batch.Put(key(i), std::string(100, char('a' + i % 26)));
  ASSERT_TRUE(db->Write({}, batch).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_EQ(db->GetStats().block_cache_bytes, 0u);

  ReadOptions no_fill;
  no_fill.fill_cache = false;
  auto read_all = [&](const ReadOptions& ro) {
    for (int i = 0; i < kKeys; i += 7) {
      EXPECT_EQ(MustGet(db.get(), key(i), ro), std::string(100, char('a' + i % 26))) << i;
    }
  };
  auto scan_all = [&](const ReadOptions& ro) {
    auto it = db->NewIterator(ro);
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(n, kKeys);
  };
  read_all(no_fill);
  scan_all(no_fill);
  EXPECT_GT(db->GetStats().block_cache_misses, 0u);
  EXPECT_EQ(db->GetStats().block_cache_bytes, 0u) << "fill_cache = false cached blocks";

  // The default fills the cache; reads without fill_cache then hit what is there.
  scan_all(ReadOptions{});
  const DBStats filled = db->GetStats();
  EXPECT_GT(filled.block_cache_bytes, 0u);
  read_all(no_fill);
  EXPECT_EQ(db->GetStats().block_cache_misses, filled.block_cache_misses);
  EXPECT_GT(db->GetStats().block_cache_hits, filled.block_cache_hits);
}

TEST(DBOpen, BadInputIsRejectedClearly) {
  EXPECT_TRUE(DB::Open("nope://x", {}).status().IsInvalidArgument());
  Options o;
  o.create_if_missing = false;
  auto r = DB::Open("memory://does-not-exist-db", o);
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  Options tiny;
  tiny.memtable_bytes = 1;
  EXPECT_TRUE(DB::Open("memory://tiny", tiny).status().IsInvalidArgument());
}

INSTANTIATE_TEST_SUITE_P(Stores, DBTest, ::testing::Values("memory", "file"));

// DBStats::store counts every request the engine makes, by kind, and prices them at
// Options::request_prices.
TEST(DBStats, CountsObjectStoreRequestsAndPricesThem) {
  auto base = NewPrivateMemoryStore("stats-requests");
  Options o;
  o.store = base;
  o.request_prices.put_list_per_1000 = 1000;  // one dollar per PUT or LIST
  o.request_prices.get_head_per_1000 = 0;
  auto db = DB::Open("memory://stats-requests", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const DBStats before = (*db)->GetStats();
  EXPECT_GT(before.store.put, 0u);  // creation, the epoch commit and the fence
  ASSERT_TRUE((*db)->Put({}, "k", std::string(1000, 'v')).ok());
  ASSERT_TRUE((*db)->Flush().ok());
  const DBStats after = (*db)->GetStats();
  // The durable put's WAL object, the SST and the manifest commit.
  EXPECT_GE(after.store.put, before.store.put + 3);
  EXPECT_GE(after.store.bytes_written, before.store.bytes_written + 1000);
  EXPECT_DOUBLE_EQ(after.store.estimated_cost_dollars,
                   static_cast<double>(after.store.put + after.store.list));
  // Probes that find nothing (the next manifest version, the first free WAL id) are requests
  // that return NotFound: counted, and counted as errors.
  EXPECT_GT(after.store.errors, 0u);
  EXPECT_LE(after.store.errors,
            after.store.get + after.store.head + after.store.put + after.store.list);
  ASSERT_TRUE((*db)->Close().ok());
}

}  // namespace
}  // namespace cloudkv
