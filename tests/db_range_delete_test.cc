// SPDX-License-Identifier: Apache-2.0
// DeleteRange through the DB API on real stores: Get, MultiGet and iterators (forward,
// reverse, seek, bounds) at snapshots taken before and after, with the tombstones and the
// keys they cover in the memtable, immutable memtables or SSTs, across flush and reopen (WAL
// replay), overlapping tombstones, and bad arguments.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "cloudkv/db.h"
#include "db/sst_cache.h"
#include "db/version.h"
#include "format/sst_builder.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

Options SmallOptions() {
  Options o;
  o.memtable_bytes = 64 * 1024;
  o.wal_flush_interval_ms = 5;
  o.block_cache_bytes = 1 << 20;
  return o;
}

std::string K(int i) {
  char k[16];
  std::snprintf(k, sizeof(k), "k%03d", i);
  return k;
}

class DBRangeDeleteTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string clean;
    for (char c : name) clean += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (GetParam() == "memory") {
      DropMemoryStore(clean);
      url_ = "memory://" + clean;
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             ("cloudkv-rangedel-" + clean + "-" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir_);
      url_ = "file://" + dir_.string();
    }
    Reopen();
  }
  void TearDown() override {
    if (db_) {
      EXPECT_TRUE(db_->Close().ok());
    }
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    if (db_) {
      ASSERT_TRUE(db_->Close().ok());
    }
    db_.reset();
    auto db = DB::Open(url_, SmallOptions());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  std::string Get(std::string_view key, const Snapshot* snapshot = nullptr) {
    ReadOptions ro;
    ro.snapshot = snapshot;
    auto r = db_->Get(ro, key);
    return r.ok() ? *r : "<" + std::string(StatusCodeName(r.status().code())) + ">";
  }

  // Keys shown by a forward scan and by a reverse scan (which must agree).
  std::vector<std::string> Scan(const ReadOptions& ro = {}) {
    auto it = db_->NewIterator(ro);
    std::vector<std::string> forward, reverse;
    for (it->SeekToFirst(); it->Valid(); it->Next()) forward.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    for (it->SeekToLast(); it->Valid(); it->Prev()) reverse.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    std::reverse(reverse.begin(), reverse.end());
    EXPECT_EQ(forward, reverse);
    return forward;
  }

  void PutRange(int from, int to, const std::string& tag) {
    for (int i = from; i < to; i++) ASSERT_TRUE(db_->Put({}, K(i), tag + K(i)).ok());
  }

  std::string url_;
  std::filesystem::path dir_;
  std::unique_ptr<DB> db_;
};

std::vector<std::string> Keys(std::initializer_list<int> ids) {
  std::vector<std::string> out;
  for (int i : ids) out.push_back(K(i));
  return out;
}

TEST_P(DBRangeDeleteTest, HidesCoveredKeysFromGetAndIterators) {
  PutRange(0, 10, "v");
  ASSERT_TRUE(db_->DeleteRange({}, K(2), K(5)).ok());  // deletes 2, 3, 4
  EXPECT_EQ(Get(K(1)), "vk001");
  EXPECT_EQ(Get(K(2)), "<NotFound>");
  EXPECT_EQ(Get(K(4)), "<NotFound>");
  EXPECT_EQ(Get(K(5)), "vk005");  // end is exclusive
  EXPECT_EQ(Scan(), Keys({0, 1, 5, 6, 7, 8, 9}));
  std::vector<std::string_view> keys = {"k001", "k003", "k005"};
  auto multi = db_->MultiGet({}, keys);
  EXPECT_TRUE(multi[0].ok());
  EXPECT_TRUE(multi[1].status().IsNotFound());
  EXPECT_TRUE(multi[2].ok());

  auto it = db_->NewIterator({});
  it->Seek(K(2));
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), K(5));
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), K(1));
  it->SeekForPrev(K(4));
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), K(1));
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), K(5));

  ReadOptions bounded;
  bounded.lower_bound = K(3);
  bounded.upper_bound = K(7);
  EXPECT_EQ(Scan(bounded), Keys({5, 6}));
  bounded.upper_bound = K(5);
  EXPECT_EQ(Scan(bounded), Keys({}));

  // A later write into the range is visible again.
  ASSERT_TRUE(db_->Put({}, K(3), "again").ok());
  EXPECT_EQ(Get(K(3)), "again");
  EXPECT_EQ(Scan(), Keys({0, 1, 3, 5, 6, 7, 8, 9}));
}

TEST_P(DBRangeDeleteTest, SnapshotsBeforeAndAfter) {
  PutRange(0, 10, "v");
  const Snapshot* before = db_->GetSnapshot();
  ASSERT_TRUE(db_->DeleteRange({}, K(0), K(8)).ok());
  const Snapshot* after = db_->GetSnapshot();
  ASSERT_TRUE(db_->Put({}, K(4), "new").ok());
  for (bool flushed : {false, true}) {
    SCOPED_TRACE(flushed ? "flushed" : "in memtable");
    EXPECT_EQ(Get(K(3), before), "vk003");
    EXPECT_EQ(Get(K(3), after), "<NotFound>");
    EXPECT_EQ(Get(K(4), after), "<NotFound>");
    EXPECT_EQ(Get(K(4)), "new");
    ReadOptions ro;
    ro.snapshot = before;
    EXPECT_EQ(Scan(ro).size(), 10u);
    ro.snapshot = after;
    EXPECT_EQ(Scan(ro), Keys({8, 9}));
    EXPECT_EQ(Scan(), Keys({4, 8, 9}));
    ASSERT_TRUE(db_->Flush().ok());
  }
  db_->ReleaseSnapshot(before);
  db_->ReleaseSnapshot(after);
}

// The tombstone and the keys it covers in different sources: older SST, newer SST, memtable.
TEST_P(DBRangeDeleteTest, CoversKeysInOlderSourcesAcrossFlushAndReopen) {
  PutRange(0, 20, "a");
  ASSERT_TRUE(db_->Flush().ok());                       // keys in SST 1
  ASSERT_TRUE(db_->DeleteRange({}, K(5), K(15)).ok());  // tombstone in the memtable
  EXPECT_EQ(Get(K(10)), "<NotFound>");
  ASSERT_TRUE(db_->Flush().ok());  // tombstone alone in SST 2
  EXPECT_EQ(Get(K(10)), "<NotFound>");
  EXPECT_EQ(Get(K(15)), "ak015");
  PutRange(12, 13, "b");  // newer than the tombstone
  EXPECT_EQ(Scan(), Keys({0, 1, 2, 3, 4, 12, 15, 16, 17, 18, 19}));
  Reopen();  // SSTs from the store, the newest put replayed from the WAL
  EXPECT_EQ(Get(K(10)), "<NotFound>");
  EXPECT_EQ(Get(K(12)), "bk012");
  EXPECT_EQ(Scan(), Keys({0, 1, 2, 3, 4, 12, 15, 16, 17, 18, 19}));

  // A tombstone only in the WAL survives reopen (replay) and then a flush.
  ASSERT_TRUE(db_->DeleteRange({}, K(0), K(3)).ok());
  Reopen();
  EXPECT_EQ(Get(K(1)), "<NotFound>");
  EXPECT_EQ(Scan(), Keys({3, 4, 12, 15, 16, 17, 18, 19}));
  ASSERT_TRUE(db_->Flush().ok());
  Reopen();
  EXPECT_EQ(Scan(), Keys({3, 4, 12, 15, 16, 17, 18, 19}));
  EXPECT_EQ(db_->GetStats().l0_files, 3u);
}

TEST_P(DBRangeDeleteTest, OverlappingTombstonesInSeveralSources) {
  PutRange(0, 30, "v");
  ASSERT_TRUE(db_->DeleteRange({}, K(5), K(15)).ok());
  ASSERT_TRUE(db_->Flush().ok());
  PutRange(8, 12, "w");  // between the two tombstones
  ASSERT_TRUE(db_->DeleteRange({}, K(10), K(20)).ok());
  ASSERT_TRUE(db_->DeleteRange({}, K(11), K(12)).ok());  // nested, newer
  // 5..9: first tombstone (8, 9 rewritten after it, so visible); 10..19: second.
  EXPECT_EQ(Scan(), Keys({0, 1, 2, 3, 4, 8, 9, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}));
  EXPECT_EQ(Get(K(9)), "wk009");
  EXPECT_EQ(Get(K(11)), "<NotFound>");
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(Scan(), Keys({0, 1, 2, 3, 4, 8, 9, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}));
  EXPECT_EQ(Get(K(10)), "<NotFound>");
  EXPECT_EQ(Get(K(20)), "vk020");
}

TEST_P(DBRangeDeleteTest, BatchesApplyRecordsInOrderAtomically) {
  WriteBatch batch;
  batch.Put(K(1), "one");
  batch.Put(K(2), "two");
  batch.DeleteRange(K(0), K(2));  // deletes the put of K(1) before it
  batch.Put(K(0), "zero");        // after it: visible
  ASSERT_TRUE(db_->Write({}, batch).ok());
  EXPECT_EQ(Scan(), Keys({0, 2}));
  EXPECT_EQ(Get(K(1)), "<NotFound>");
}

TEST_P(DBRangeDeleteTest, BadRangesAreRejectedAndEmptyOnesAreNoOps) {
  PutRange(0, 5, "v");
  Status s = db_->DeleteRange({}, K(3), K(1));
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("begin"), std::string::npos) << s.ToString();
  // As in RocksDB, begin == end is an empty range: accepted, deletes nothing.
  EXPECT_TRUE(db_->DeleteRange({}, K(2), K(2)).ok());
  EXPECT_EQ(Scan().size(), 5u);
  std::string huge(SmallOptions().max_key_bytes + 1, 'x');
  s = db_->DeleteRange({}, "a", huge);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("max_key_bytes"), std::string::npos) << s.ToString();
  // A rejected batch writes nothing, not even its valid records.
  WriteBatch batch;
  batch.Put(K(9), "x");
  batch.DeleteRange(K(4), K(0));
  EXPECT_TRUE(db_->Write({}, batch).IsInvalidArgument());
  EXPECT_EQ(Get(K(9)), "<NotFound>");
  ASSERT_TRUE(db_->Flush().ok());  // the empty range is not written into the SST
  Reopen();
  EXPECT_EQ(Scan().size(), 5u);
}

// Compaction carries range tombstones into its outputs while a snapshot needs the covered
// keys, and drops both at the bottom once no snapshot does.
TEST_P(DBRangeDeleteTest, CompactionKeepsTombstonesWhileNeededAndDropsThemAtTheBottom) {
  PutRange(0, 30, "v");
  ASSERT_TRUE(db_->Flush().ok());
  const Snapshot* before = db_->GetSnapshot();
  ASSERT_TRUE(db_->DeleteRange({}, K(5), K(15)).ok());
  PutRange(10, 11, "w");
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactAll().ok());
  const auto after_first =
      Keys({0, 1, 2, 3, 4, 10, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29});
  EXPECT_EQ(Scan(), after_first);
  ReadOptions at;
  at.snapshot = before;
  EXPECT_EQ(Scan(at).size(), 30u);
  EXPECT_EQ(Get(K(7), before), "vk007");
  EXPECT_EQ(Get(K(7)), "<NotFound>");
  db_->ReleaseSnapshot(before);
  ASSERT_TRUE(db_->CompactAll().ok());
  EXPECT_EQ(Scan(), after_first);
  EXPECT_EQ(Get(K(10)), "wk010");
  Reopen();
  EXPECT_EQ(Scan(), after_first);
  EXPECT_EQ(Get(K(14)), "<NotFound>");
}

// A memtable holding nothing but an empty range has nothing to store: the flush adds no SST
// (an SST without any key would have no key range) but still moves the WAL pointers.
TEST_P(DBRangeDeleteTest, FlushOfOnlyAnEmptyRangeAddsNoSst) {
  ASSERT_TRUE(db_->DeleteRange({}, "a", "a").ok());
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(db_->GetStats().l0_files, 0u);
  EXPECT_EQ(Get("a"), "<NotFound>");
  PutRange(0, 3, "v");
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(db_->GetStats().l0_files, 1u);
  Reopen();
  EXPECT_EQ(Scan(), Keys({0, 1, 2}));
}

// A random mix against a std::map, with flushes and reopens, including wide ranges over the
// empty key and past the last key.
TEST_P(DBRangeDeleteTest, RandomMixMatchesModel) {
  Random rnd(TestSeed("DBRangeDeleteTest.RandomMixMatchesModel"));
  std::map<std::string, std::string> model;
  for (int step = 0; step < 400; step++) {
    const int op = static_cast<int>(rnd.Uniform(100));
    if (op < 60) {
      std::string k = K(static_cast<int>(rnd.Uniform(60)));
      std::string v = rnd.Printable(8);
      ASSERT_TRUE(db_->Put({.durable = false}, k, v).ok());
      model[k] = v;
    } else if (op < 75) {
      std::string b = rnd.OneIn(10) ? "" : K(static_cast<int>(rnd.Uniform(60)));
      std::string e = rnd.OneIn(10) ? "l" : K(static_cast<int>(rnd.Uniform(60)));
      if (e < b) std::swap(b, e);
      ASSERT_TRUE(db_->DeleteRange({.durable = false}, b, e).ok());
      model.erase(model.lower_bound(b), model.lower_bound(e));
    } else if (op < 92) {
      ReadOptions ro;
      ro.read_unflushed = true;
      std::string k = K(static_cast<int>(rnd.Uniform(60)));
      auto got = db_->Get(ro, k);
      auto m = model.find(k);
      if (m == model.end()) {
        ASSERT_TRUE(got.status().IsNotFound()) << k << " step " << step;
      } else {
        ASSERT_TRUE(got.ok()) << k << " step " << step;
        ASSERT_EQ(*got, m->second);
      }
      auto it = db_->NewIterator(ro);
      std::map<std::string, std::string> seen;
      for (it->SeekToFirst(); it->Valid(); it->Next()) seen[std::string(it->key())] = it->value();
      ASSERT_EQ(seen, model) << "step " << step;
    } else if (op < 97) {
      ASSERT_TRUE(db_->Flush().ok());
    } else {
      Reopen();
    }
  }
}

// Two SSTs of one level may share a boundary user key when the first one's largest key is a
// range tombstone's exclusive end: Version::Get must look at both.
TEST(VersionRangeTombstones, LevelNeighboursSharingATombstoneEndAreBothConsulted) {
  auto store = NewPrivateMemoryStore("version-rangedel");
  SstCache cache(store, SstReadOptions{}, /*pool=*/nullptr);
  auto make = [&](const std::string& key, auto&& fill) {
    SstBuilder builder(SstBuilderOptions{}, 1, 2, 3);
    fill(&builder);
    SstProperties props;
    auto bytes = builder.Finish(&props);
    EXPECT_TRUE(bytes.ok());
    EXPECT_TRUE(store->Put(key, *bytes).ok());
    proto::SstMeta meta;
    meta.set_object_key(key);
    meta.set_smallest_key(props.smallest_key);
    meta.set_largest_key(props.largest_key);
    meta.set_size_bytes(bytes->size());
    return meta;
  };
  Manifest m;
  auto* level = m.add_levels();
  *level->add_ssts() = make("sst/a.sst", [](SstBuilder* b) {
    b->Add(MakeInternalKey("a", 5, kTypeValue), "a5");
    b->AddRangeTombstone("b", "m", 10);  // largest user key: "m"
  });
  *level->add_ssts() = make("sst/b.sst", [](SstBuilder* b) {
    b->Add(MakeInternalKey("m", 3, kTypeValue), "m3");  // smallest user key: "m"
  });
  auto version = cache.BuildVersion(m);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  LookupResult r;
  SequenceNumber covering = 0;
  ASSERT_TRUE((*version)->Get("m", 20, &r, &covering).ok());
  ASSERT_EQ(r.state, LookupState::kFound);
  EXPECT_EQ(r.value, "m3");
  EXPECT_EQ(covering, 0u);  // "m" is the exclusive end: not covered
  r = LookupResult();
  ASSERT_TRUE((*version)->Get("c", 20, &r, &covering).ok());
  EXPECT_EQ(r.state, LookupState::kNotPresent);
  EXPECT_EQ(covering, 10u);
  covering = 0;
  ASSERT_TRUE((*version)->Get("c", 9, &r, &covering).ok());
  EXPECT_EQ(covering, 0u);  // invisible at snapshot 9
}

INSTANTIATE_TEST_SUITE_P(Stores, DBRangeDeleteTest, ::testing::Values("memory", "file"));

}  // namespace
}  // namespace cloudkv
