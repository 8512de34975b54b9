// SPDX-License-Identifier: Apache-2.0
// Txn (src/server/txn.h) over a real database on memory://: reads see the transaction's own
// writes (puts, deletes, range deletions, in batch order), Scan merges them with the database,
// Reset forgets them, durable reads of one Txn share a snapshot, TouchWatches bumps the written
// keys, and a random mix matches a std::map model both before and after the batch is written
// to the database. Prints its seed; CLOUDKV_SEED repeats a run.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloudkv/db.h"
#include "server/txn.h"
#include "server/watch_registry.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv::server {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

constexpr uint64_t kNowMs = 1'700'000'000'000;

class TxnTest : public testing::Test {
 protected:
  void SetUp() override {
    const std::string name =
        std::string("txn-") + testing::UnitTest::GetInstance()->current_test_info()->name();
    DropMemoryStore(name);
    auto opened = DB::Open("memory://" + name, Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
  }
  void TearDown() override {
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put(WriteOptions(), key, value).ok());
  }

  // What `txn` reads at `key`: the value, "<none>" if absent, or "<error ...>".
  static std::string Read(Txn& txn, const std::string& key) {
    Result<std::optional<std::string>> got = txn.GetRaw(key);
    if (!got.ok()) return "<error " + got.status().ToString() + ">";
    return got->has_value() ? **got : "<none>";
  }

  static Entries ScanAll(Txn& txn, const std::string& lower, const std::string& upper,
                         const std::optional<std::string>& start_after = std::nullopt,
                         size_t limit = SIZE_MAX) {
    Entries out;
    Status s = txn.Scan(lower, upper, start_after, [&](std::string_view k, std::string_view v) {
      out.emplace_back(k, v);
      return out.size() < limit;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // Everything in the database now (the durable state).
  Entries DbContents() {
    Entries out;
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key(), it->value());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

  std::unique_ptr<DB> db_;
};

TEST_F(TxnTest, ReadsSeeOwnWritesBeforeTheyAreWritten) {
  Put("Sa", "db-a");
  Put("Sb", "db-b");
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  EXPECT_EQ(Read(txn, "Sa"), "db-a");
  txn.PutRaw("Sa", "mine");
  EXPECT_EQ(Read(txn, "Sa"), "mine");
  txn.DeleteRaw("Sb");
  EXPECT_EQ(Read(txn, "Sb"), "<none>");
  txn.PutRaw("Sc", "new");
  EXPECT_EQ(Read(txn, "Sc"), "new");
  txn.PutRaw("Sa", "again");  // a second write to a key already in the overlay
  EXPECT_EQ(Read(txn, "Sa"), "again");
  txn.PutRaw("Sb", "back");
  EXPECT_EQ(Read(txn, "Sb"), "back");
  EXPECT_EQ(txn.batch().Count(), 5u);
  // Nothing reaches the database until the connection writes the batch.
  EXPECT_EQ(db_->Get(ReadOptions(), "Sa").value(), "db-a");
  EXPECT_TRUE(db_->Get(ReadOptions(), "Sc").status().IsNotFound());
  ASSERT_TRUE(db_->Write(WriteOptions(), txn.batch()).ok());
  EXPECT_EQ(DbContents(), (Entries{{"Sa", "again"}, {"Sb", "back"}, {"Sc", "new"}}));
}

TEST_F(TxnTest, MetadataReadsDecodeAndHideExpiredKeys) {
  Txn txn(db_.get(), /*read_unflushed=*/true, kNowMs);
  txn.PutString("s", "value", /*expire_at_ms=*/0);
  Metadata hash;
  hash.type = ValueType::kHash;
  hash.version = 42;
  hash.count = 1;
  txn.PutMeta("h", hash);
  Metadata expired;
  expired.value = "old";
  expired.expire_at_ms = kNowMs;  // expires at now: gone
  txn.PutMeta("e", expired);
  Metadata later = expired;
  later.expire_at_ms = kNowMs + 1;
  txn.PutMeta("l", later);

  auto meta = [&](const std::string& key) {
    Result<std::optional<Metadata>> got = txn.GetMeta(key);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::nullopt;
  };
  ASSERT_TRUE(meta("s").has_value());
  EXPECT_EQ(meta("s")->type, ValueType::kString);
  EXPECT_EQ(meta("s")->value, "value");
  EXPECT_EQ(Read(txn, MetaKey("s")), EncodeMetadata(*meta("s")));  // PutString == PutMeta
  ASSERT_TRUE(meta("h").has_value());
  EXPECT_EQ(meta("h")->version, 42u);
  EXPECT_FALSE(meta("e").has_value());
  ASSERT_TRUE(meta("l").has_value());
  EXPECT_EQ(meta("l")->value, "old");
  EXPECT_FALSE(meta("absent").has_value());
  txn.DeleteMeta("s");
  EXPECT_FALSE(meta("s").has_value());

  // Corrupt metadata is an error naming the key, not a crash.
  Put(MetaKey("bad"), "x");
  Txn reader(db_.get(), /*read_unflushed=*/false, kNowMs);
  Result<std::optional<Metadata>> bad = reader.GetMeta("bad");
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
}

TEST_F(TxnTest, DeleteRangeHidesEarlierWritesAndTheDatabaseButNotLaterWrites) {
  for (const char* key : {"S1", "S2", "S3", "S4", "S5"}) Put(key, std::string("db-") + key);
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  txn.PutRaw("S2", "early");
  txn.DeleteRangeRaw("S2", "S4");
  EXPECT_EQ(Read(txn, "S1"), "db-S1");
  EXPECT_EQ(Read(txn, "S2"), "<none>");  // this transaction's earlier write
  EXPECT_EQ(Read(txn, "S3"), "<none>");  // the database's record
  EXPECT_EQ(Read(txn, "S4"), "db-S4");   // the end is exclusive
  txn.PutRaw("S3", "late");
  EXPECT_EQ(Read(txn, "S3"), "late");
  txn.DeleteRangeRaw("S5", "S5");  // empty: deletes nothing
  EXPECT_EQ(Read(txn, "S5"), "db-S5");
  const Entries seen = ScanAll(txn, "S", "T");
  EXPECT_EQ(seen, (Entries{{"S1", "db-S1"}, {"S3", "late"}, {"S4", "db-S4"}, {"S5", "db-S5"}}));
  // The engine applies the batch the same way.
  ASSERT_TRUE(db_->Write(WriteOptions(), txn.batch()).ok());
  EXPECT_EQ(DbContents(), seen);
}

// Deleted ranges are kept merged (overlapping, nested and touching ones become one) and looked
// up in O(log ranges): DEL of many hashes adds one range per hash.
TEST_F(TxnTest, OverlappingNestedAndTouchingRangesMerge) {
  for (const char* key : {"Sa", "Sb", "Sc", "Sd", "Se", "Sf", "Sg", "Sh", "Si"}) {
    Put(key, std::string("db-") + key);
  }
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  txn.DeleteRangeRaw("Sb", "Sd");  // b c
  txn.DeleteRangeRaw("Sd", "Se");  // touches: d
  txn.DeleteRangeRaw("Sb", "Sc");  // nested
  txn.DeleteRangeRaw("Sg", "Sh");  // g
  txn.DeleteRangeRaw("Sf", "Sg");  // touches from below: f
  txn.DeleteRangeRaw("Sa", "Sa");  // empty
  std::string seen;
  for (const char* key : {"Sa", "Sb", "Sc", "Sd", "Se", "Sf", "Sg", "Sh", "Si"}) {
    seen += Read(txn, key) == "<none>" ? "-" : "+";
  }
  EXPECT_EQ(seen, "+---+--++");
  EXPECT_EQ(ScanAll(txn, "S", "T"),
            (Entries{{"Sa", "db-Sa"}, {"Se", "db-Se"}, {"Sh", "db-Sh"}, {"Si", "db-Si"}}));
}

TEST_F(TxnTest, HundredThousandDeletedRanges) {
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  auto key = [](int i, char suffix) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "S%08d%c", i, suffix);
    return std::string(buf);
  };
  constexpr int kRanges = 100000;
  for (int i = 0; i < kRanges; i += 2) txn.DeleteRangeRaw(key(i, 'a'), key(i, 'c'));
  for (int i = kRanges - 1; i > 0; i -= 2) txn.DeleteRangeRaw(key(i, 'a'), key(i, 'c'));
  int deleted = 0;
  for (int i = 0; i < kRanges; i++) {
    txn.PutRaw(key(i, 'z'), "kept");  // between ranges: never deleted
    if (Read(txn, key(i, 'b')) == "<none>" && Read(txn, key(i, 'z')) == "kept") deleted++;
  }
  EXPECT_EQ(deleted, kRanges);
}

TEST_F(TxnTest, DeleteKeyOfAHashDeletesItsFieldsAndDeleteAllDeletesEverything) {
  Metadata hash;
  hash.type = ValueType::kHash;
  hash.version = 7;
  hash.count = 2;
  Put(MetaKey("h"), EncodeMetadata(hash));
  Put(FieldKey(7, "a"), "1");
  Put(FieldKey(7, "b"), "2");
  Put(FieldKey(8, "a"), "other hash");
  Put(MetaKey("s"), EncodeMetadata(Metadata{}));
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  Result<std::optional<Metadata>> got = txn.GetMeta("h");
  ASSERT_TRUE(got.ok() && got->has_value());
  txn.DeleteKey("h", **got);
  EXPECT_FALSE(txn.GetMeta("h").value().has_value());
  EXPECT_EQ(Read(txn, FieldKey(7, "a")), "<none>");
  EXPECT_EQ(Read(txn, FieldKey(7, "b")), "<none>");
  EXPECT_EQ(Read(txn, FieldKey(8, "a")), "other hash");

  txn.DeleteAll();
  EXPECT_EQ(Read(txn, FieldKey(8, "a")), "<none>");
  EXPECT_FALSE(txn.GetMeta("s").value().has_value());
  EXPECT_TRUE(ScanAll(txn, "", "\xff").empty());
  txn.PutString("after", "flush", 0);  // a write after FLUSHDB in the same EXEC survives it
  EXPECT_TRUE(txn.GetMeta("after").value().has_value());
  ASSERT_TRUE(db_->Write(WriteOptions(), txn.batch()).ok());
  EXPECT_EQ(DbContents(),
            (Entries{{MetaKey("after"), EncodeMetadata(Metadata{.value = "flush"})}}));
}

TEST_F(TxnTest, ScanMergesTheOverlayWithTheDatabase) {
  for (const char* key : {"S1", "S3", "S5", "S7"}) Put(key, "db");
  Put("T0", "outside");
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  txn.PutRaw("S2", "tx");          // new, between database keys
  txn.DeleteRaw("S3");             // hides a database key
  txn.PutRaw("S5", "tx");          // overwrites one
  txn.DeleteRangeRaw("S6", "S8");  // hides S7...
  txn.PutRaw("S7", "late");        // ...which a later write brings back
  txn.PutRaw("S9", "tx");          // past the upper bound used below
  txn.PutRaw("R9", "tx");          // below the lower bound

  const Entries all{{"S1", "db"}, {"S2", "tx"}, {"S5", "tx"}, {"S7", "late"}};
  EXPECT_EQ(ScanAll(txn, "S", "S9"), all);
  EXPECT_EQ(ScanAll(txn, "S", "S9", "S2"), (Entries{{"S5", "tx"}, {"S7", "late"}}));
  EXPECT_EQ(ScanAll(txn, "S", "S9", "S3"), (Entries{{"S5", "tx"}, {"S7", "late"}}));
  EXPECT_EQ(ScanAll(txn, "S", "S9", "S7"), Entries{});
  EXPECT_EQ(ScanAll(txn, "S", "S9", "S9"), Entries{});  // start_after past the range
  EXPECT_EQ(ScanAll(txn, "S3", "S9", "R"), (Entries{{"S5", "tx"}, {"S7", "late"}}));
  EXPECT_EQ(ScanAll(txn, "S", "S9", std::nullopt, 2), (Entries{{"S1", "db"}, {"S2", "tx"}}));
  EXPECT_EQ(ScanAll(txn, "S", "T"),
            (Entries{{"S1", "db"}, {"S2", "tx"}, {"S5", "tx"}, {"S7", "late"}, {"S9", "tx"}}));
}

TEST_F(TxnTest, ResetForgetsWritesAndReadsAgain) {
  Put("Sa", "db");
  Txn txn(db_.get(), /*read_unflushed=*/false, kNowMs);
  EXPECT_EQ(Read(txn, "Sa"), "db");
  txn.PutRaw("Sa", "mine");
  txn.PutRaw("Sb", "mine");
  txn.DeleteRangeRaw("S", "T");
  EXPECT_EQ(Read(txn, "Sa"), "<none>");
  txn.DeleteAll();
  txn.Reset(kNowMs + 5);
  EXPECT_EQ(txn.now_ms(), kNowMs + 5);
  EXPECT_TRUE(txn.batch().empty());
  EXPECT_EQ(Read(txn, "Sa"), "db");
  EXPECT_EQ(Read(txn, "Sb"), "<none>");
  EXPECT_EQ(ScanAll(txn, "S", "T"), (Entries{{"Sa", "db"}}));
  // FLUSHDB's "touch every watch" is forgotten too.
  WatchRegistry watches;
  const uint64_t version = watches.Watch("x");
  txn.TouchWatches(&watches);
  EXPECT_EQ(watches.Version("x"), version);
  // And it is usable again: writes after Reset are read back.
  txn.PutRaw("Sc", "again");
  EXPECT_EQ(Read(txn, "Sc"), "again");
  EXPECT_EQ(txn.batch().Count(), 1u);
}

TEST_F(TxnTest, DurableReadsOfOneTxnShareASnapshotAndNewestReadsDoNot) {
  Put("Sa", "v1");
  Put("Sb", "v1");
  Txn durable(db_.get(), /*read_unflushed=*/false, kNowMs);
  Txn newest(db_.get(), /*read_unflushed=*/true, kNowMs);
  EXPECT_EQ(Read(durable, "Sa"), "v1");
  EXPECT_EQ(Read(newest, "Sa"), "v1");
  Put("Sa", "v2");
  Put("Sb", "v2");
  EXPECT_EQ(Read(durable, "Sa"), "v1");
  EXPECT_EQ(Read(durable, "Sb"), "v1");
  EXPECT_EQ(ScanAll(durable, "S", "T"), (Entries{{"Sa", "v1"}, {"Sb", "v1"}}));
  EXPECT_EQ(Read(newest, "Sa"), "v2");
  Txn later(db_.get(), /*read_unflushed=*/false, kNowMs);
  EXPECT_EQ(Read(later, "Sb"), "v2");
}

TEST_F(TxnTest, TouchWatchesBumpsTheUserKeysWritten) {
  WatchRegistry watches;
  const uint64_t a = watches.Watch("a");
  const uint64_t b = watches.Watch("b");
  const uint64_t c = watches.Watch("c");
  {
    Txn txn(db_.get(), /*read_unflushed=*/true, kNowMs);
    txn.PutString("a", "1", 0);
    txn.DeleteMeta("b");
    txn.PutRaw(FieldKey(3, "c"), "a field, not the key c");
    txn.TouchWatches(&watches);
  }
  EXPECT_NE(watches.Version("a"), a);
  EXPECT_NE(watches.Version("b"), b);
  EXPECT_EQ(watches.Version("c"), c);
  {
    Txn txn(db_.get(), /*read_unflushed=*/true, kNowMs);
    txn.DeleteAll();
    txn.TouchWatches(&watches);
  }
  EXPECT_NE(watches.Version("c"), c);
}

// A random mix of writes, reads and scans against a std::map, over a random database: the Txn
// reads what the model holds at every step, and the database holds the model once the batch
// is written. Rounds reuse one Txn through Reset.
TEST_F(TxnTest, RandomMixMatchesModel) {
  Random rnd(TestSeed("TxnTest.RandomMixMatchesModel"));
  auto key = [&] {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "S%02d", static_cast<int>(rnd.Uniform(40)));
    return std::string(buf);
  };
  auto bound = [&] { return rnd.OneIn(8) ? std::string(rnd.OneIn(2) ? "S" : "T") : key(); };
  std::map<std::string, std::string> db_model;
  for (int i = 0; i < 20; i++) {
    std::string k = key(), v = rnd.Printable(6);
    Put(k, v);
    db_model[k] = v;
  }
  Txn txn(db_.get(), rnd.OneIn(2), kNowMs);
  for (int round = 0; round < 20; round++) {
    txn.Reset(kNowMs + static_cast<uint64_t>(round));
    std::map<std::string, std::string> model = db_model;
    for (int step = 0; step < 150; step++) {
      const uint64_t op = rnd.Uniform(100);
      if (op < 35) {
        std::string k = key(), v = rnd.Printable(1 + rnd.Uniform(8));
        txn.PutRaw(k, v);
        model[k] = v;
      } else if (op < 50) {
        std::string k = key();
        txn.DeleteRaw(k);
        model.erase(k);
      } else if (op < 58) {
        std::string b = bound(), e = bound();
        if (e < b) std::swap(b, e);
        txn.DeleteRangeRaw(b, e);
        model.erase(model.lower_bound(b), model.lower_bound(e));
      } else if (op < 85) {
        std::string k = key();
        auto it = model.find(k);
        ASSERT_EQ(Read(txn, k), it == model.end() ? "<none>" : it->second)
            << "round " << round << " step " << step << " key " << k;
      } else {
        std::string lower = bound(), upper = bound();
        if (upper < lower) std::swap(lower, upper);
        std::optional<std::string> start_after;
        if (rnd.OneIn(2)) start_after = bound();
        const size_t limit = rnd.OneIn(3) ? 1 + rnd.Uniform(5) : SIZE_MAX;
        Entries want;
        for (auto it = model.lower_bound(lower); it != model.end() && it->first < upper; ++it) {
          if (start_after && it->first <= *start_after) continue;
          if (want.size() == limit) break;
          want.emplace_back(it->first, it->second);
        }
        ASSERT_EQ(ScanAll(txn, lower, upper, start_after, limit), want)
            << "round " << round << " step " << step << " [" << lower << ", " << upper << ") after "
            << start_after.value_or("-");
      }
    }
    if (rnd.OneIn(2)) {
      // Commit this round: the engine must agree with the overlay.
      ASSERT_TRUE(db_->Write(WriteOptions(), txn.batch()).ok());
      db_model = model;
      EXPECT_EQ(DbContents(), Entries(db_model.begin(), db_model.end())) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace cloudkv::server
