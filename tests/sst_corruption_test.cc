// SPDX-License-Identifier: Apache-2.0
// Corruption of every region of an SST object (header, data blocks, filter, range deletions,
// properties, index, footer) and truncation: every read either returns the right data or a
// Corruption status naming the object, never wrong data.
#include <gtest/gtest.h>

#include "cache/block_cache.h"
#include "format/dbformat.h"
#include "format/sst_builder.h"
#include "format/sst_format.h"
#include "format/sst_reader.h"
#include "store/stores.h"
#include "support/iterator_harness.h"
#include "util/random.h"

namespace cloudkv {
namespace {

struct Region {
  std::string name;
  uint64_t begin;
  uint64_t end;
};

class SstCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Random rnd(TestSeed("SstCorruptionTest"));
    IteratorHarnessOptions gen;
    gen.internal_keys = true;
    gen.max_value_bytes = 100;
    entries_ = GenerateSortedEntries(&rnd, 400, gen);
    SstBuilderOptions bo;
    bo.block_size = 256;
    SstBuilder builder(bo, 3, 4, 5);
    for (const auto& [k, v] : entries_) builder.Add(k, v);
    tombstones_ = {{"a", "m", 7}, {"c", "e", 9}, {"x", "y\xff", 3}};
    for (const auto& t : tombstones_) builder.AddRangeTombstone(t.begin, t.end, t.seq);
    auto sst = builder.Finish(nullptr);
    ASSERT_TRUE(sst.ok());
    good_ = *sst;
    SstFooter f;
    ASSERT_TRUE(
        DecodeSstFooter(std::string_view(good_).substr(good_.size() - kSstFooterSize), &f).ok());
    regions_ = {
        {"header", 0, kSstHeaderSize},
        {"data", kSstHeaderSize, f.filter.offset},
        {"filter", f.filter.offset, f.filter.offset + f.filter.size},
        {"range-del", f.filter.offset + f.filter.size, f.properties.offset},
        {"properties", f.properties.offset, f.properties.offset + f.properties.size},
        {"index", f.index.offset, f.index.offset + f.index.size},
        {"footer", good_.size() - kSstFooterSize, good_.size()},
    };
    for (const Region& r : regions_) ASSERT_LT(r.begin, r.end) << r.name;
  }

  // Opens `bytes` as an SST claimed to be `size` bytes and reads everything. Returns true if
  // some read reported Corruption (naming the object); fails the test on wrong data or on
  // any other error.
  bool ReadAll(const std::string& bytes, uint64_t size, const SstReadOptions& ro) {
    const std::string key = "bad/" + std::to_string(counter_++) + ".sst";
    EXPECT_TRUE(store_->Put(key, bytes).ok());
    auto check = [&](const Status& s) {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      EXPECT_NE(s.message().find(key), std::string::npos) << s.ToString();
      EXPECT_NE(s.message().find("offset"), std::string::npos) << s.ToString();
    };
    auto reader = SstReader::Open(store_, key, size, ro);
    if (!reader.ok()) {
      check(reader.status());
      return true;
    }
    bool corrupt = false;
    // Range tombstones are pinned at Open: if it succeeded they are exactly right.
    EXPECT_EQ((*reader)->range_tombstones(), tombstones_);
    auto it = (*reader)->NewIterator();
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
      EXPECT_LT(n, entries_.size());
      if (n >= entries_.size()) break;
      EXPECT_EQ(it->key(), entries_[n].first);
      EXPECT_EQ(it->value(), entries_[n].second);
    }
    if (!it->status().ok()) {
      check(it->status());
      corrupt = true;
    } else {
      EXPECT_EQ(n, entries_.size());
    }
    for (const auto& [k, v] : entries_) {
      ParsedInternalKey p;
      ParseInternalKey(k, &p);
      LookupResult r;
      Status s = (*reader)->Get(p.user_key, p.sequence, &r);
      if (!s.ok()) {
        check(s);
        corrupt = true;
        continue;
      }
      EXPECT_NE(r.state, LookupState::kNotPresent) << "entry lost";
      EXPECT_EQ(r.sequence, p.sequence);
      if (p.type == kTypeValue) {
        EXPECT_EQ(r.state, LookupState::kFound);
        EXPECT_EQ(r.value, v);
      } else {
        EXPECT_EQ(r.state, LookupState::kDeleted);
      }
    }
    return corrupt;
  }

  std::shared_ptr<ObjectStore> store_ = NewPrivateMemoryStore("sst_corruption_test");
  std::vector<KeyValue> entries_;
  std::vector<RangeTombstone> tombstones_;  // sorted by (begin, seq descending)
  std::string good_;
  std::vector<Region> regions_;
  int counter_ = 0;
};

TEST_F(SstCorruptionTest, IntactObjectReadsCleanly) {
  EXPECT_FALSE(ReadAll(good_, good_.size(), {}));
}

TEST_F(SstCorruptionTest, FlippedByteInEveryRegion) {
  Random rnd(TestSeed("SstCorruptionTest.FlippedByteInEveryRegion"));
  for (const Region& region : regions_) {
    for (size_t unit : {size_t{0}, size_t{64 * 1024}}) {
      SCOPED_TRACE(region.name + " read unit " + std::to_string(unit));
      SstReadOptions ro;
      ro.read_unit_bytes = unit;
      ro.cache = BlockCache::Create(1 << 20);
      for (int trial = 0; trial < 25; trial++) {
        std::string bad = good_;
        const uint64_t pos = region.begin + rnd.Uniform(region.end - region.begin);
        bad[pos] ^= static_cast<char>(1 + rnd.Uniform(255));
        // The object fits the first tail read, so even a header flip is found, and every
        // byte of the object is covered by some checksum.
        EXPECT_TRUE(ReadAll(bad, bad.size(), ro)) << "flip at " << pos << " undetected";
      }
    }
  }
}

TEST_F(SstCorruptionTest, HeaderOutsideTheTailReadIsCheckedWithTheFirstUnit) {
  std::string bad = good_;
  bad[3] ^= 1;
  SstReadOptions ro;
  ro.open_tail_bytes = 1024;  // Open does not see the header
  ro.read_unit_bytes = 64 * 1024;
  EXPECT_TRUE(ReadAll(bad, bad.size(), ro));
  ro.read_unit_bytes = 0;  // block reads never cover the header: still never wrong data
  ReadAll(bad, bad.size(), ro);
}

TEST_F(SstCorruptionTest, Truncation) {
  Random rnd(TestSeed("SstCorruptionTest.Truncation"));
  for (int trial = 0; trial < 40; trial++) {
    const size_t len = trial == 0 ? 0 : rnd.Uniform(good_.size());
    const std::string cut = good_.substr(0, len);
    if (len > 0) {
      EXPECT_TRUE(ReadAll(cut, len, {})) << len;  // the object's own size
    }
    EXPECT_TRUE(ReadAll(cut, good_.size(), {})) << len;  // the size the manifest knows
  }
}

}  // namespace
}  // namespace cloudkv
