// SPDX-License-Identifier: Apache-2.0
// A flipped byte or a truncation in each kind of object a database is made of (manifest, WAL
// object, SST) surfaces as Corruption naming the object, never as wrong data.
#include <gtest/gtest.h>

#include "cloudkv/db.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

class DBCorruption : public ::testing::Test {
 protected:
  void SetUp() override { store_ = NewPrivateMemoryStore("corruption"); }

  Options Opts() {
    Options o;
    o.store = store_;
    o.block_cache_bytes = 0;  // every read goes to the store
    o.read_unit_bytes = 0;
    return o;
  }

  // A database with one flushed SST and a WAL tail; returns every object key, by prefix.
  std::vector<std::string> Build() {
    auto db = DB::Open("memory://corruption", Opts());
    EXPECT_TRUE(db.ok());
    for (int i = 0; i < 200; i++) {
      EXPECT_TRUE(
          (*db)->Put({.durable = false}, "key" + std::to_string(i), std::string(50, 'v')).ok());
    }
    EXPECT_TRUE((*db)->Flush().ok());
    EXPECT_TRUE((*db)->Put({}, "tail", "in the WAL").ok());
    EXPECT_TRUE((*db)->Close().ok());
    std::vector<std::string> keys;
    auto list = store_->List("", "", 10000);
    for (const auto& o : list->objects) keys.push_back(o.key);
    return keys;
  }

  void Damage(const std::string& key, bool truncate, Random* rnd) {
    auto got = store_->Get(key);
    ASSERT_TRUE(got.ok());
    std::string data = got->data;
    if (truncate) {
      data.resize(rnd->Uniform(data.size()));
    } else {
      data[rnd->Uniform(data.size())] ^= static_cast<char>(1 + rnd->Uniform(255));
    }
    ASSERT_TRUE(store_->Put(key, data).ok());
  }

  // Opens and reads everything; returns the first error (OK if all reads succeed and match).
  Status OpenAndReadAll() {
    auto db = DB::Open("memory://corruption", Opts());
    if (!db.ok()) return db.status();
    for (int i = 0; i < 200; i++) {
      auto v = (*db)->Get({}, "key" + std::to_string(i));
      if (!v.ok()) return v.status();
      if (*v != std::string(50, 'v')) return Status::InvalidArgument("WRONG DATA");
    }
    auto t = (*db)->Get({}, "tail");
    if (!t.ok()) return t.status();
    if (*t != "in the WAL") return Status::InvalidArgument("WRONG DATA");
    return Status::OK();
  }

  std::shared_ptr<ObjectStore> store_;
};

TEST_F(DBCorruption, EveryObjectKindNamesTheObject) {
  Random rnd(TestSeed("DBCorruption.EveryObjectKindNamesTheObject"));
  std::vector<std::string> keys;
  for (const std::string prefix : {"manifest/0", "wal/", "sst/"}) {
    for (int round = 0; round < 6; round++) {
      SetUp();
      keys = Build();
      std::vector<std::string> candidates;
      for (const auto& k : keys) {
        if (k.rfind(prefix, 0) == 0) candidates.push_back(k);
      }
      ASSERT_FALSE(candidates.empty()) << prefix;
      // The newest manifest, a WAL object that holds data, or the SST.
      std::string victim =
          prefix == std::string("wal/") ? candidates[candidates.size() - 1] : candidates.back();
      Damage(victim, round % 2 == 1, &rnd);
      Status s = OpenAndReadAll();
      ASSERT_NE(s.message(), "WRONG DATA") << victim;
      if (prefix != std::string("sst/")) {
        // The whole manifest and WAL object are read at open: damage is always found.
        ASSERT_FALSE(s.ok()) << victim << " damaged but the database opened";
      }
      if (s.ok()) continue;  // SST bytes no read needed (e.g. the header's padding)
      EXPECT_TRUE(s.IsCorruption()) << victim << ": " << s.ToString();
      EXPECT_NE(s.message().find(victim), std::string::npos) << victim << ": " << s.ToString();
    }
  }
}

}  // namespace
}  // namespace cloudkv
