// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// Unit tests of data blocks, the Bloom filter and the block cache.
#include "format/block.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "cache/block_cache.h"
#include "format/block_builder.h"
#include "format/bloom.h"
#include "format/dbformat.h"
#include "format/sst_format.h"
#include "support/iterator_harness.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::shared_ptr<const Block> BuildBlock(const std::vector<KeyValue>& entries,
                                        int restart_interval) {
  BlockBuilder builder(restart_interval);
  for (const auto& [k, v] : entries) builder.Add(k, v);
  auto block = Block::Parse(std::string(builder.Finish()));
  EXPECT_TRUE(block.ok()) << block.status().ToString();
  return block.ok() ? *block : nullptr;
}

// A BlockIter that owns its block.
class OwningBlockIter final : public Iterator {
 public:
  explicit OwningBlockIter(std::shared_ptr<const Block> block)
      : block_(std::move(block)), iter_(block_.get()) {}
  bool Valid() const override { return iter_.Valid(); }
  void SeekToFirst() override { iter_.SeekToFirst(); }
  void SeekToLast() override { iter_.SeekToLast(); }
  void Seek(std::string_view t) override { iter_.Seek(t); }
  void SeekForPrev(std::string_view t) override { iter_.SeekForPrev(t); }
  void Next() override { iter_.Next(); }
  void Prev() override { iter_.Prev(); }
  std::string_view key() const override { return iter_.key(); }
  std::string_view value() const override { return iter_.value(); }
  Status status() const override { return iter_.status(); }

 private:
  std::shared_ptr<const Block> block_;
  BlockIter iter_;
};

TEST(Block, IteratorContract) {
  for (int restart_interval : {1, 2, 16}) {
    IteratorHarnessOptions options;
    options.internal_keys = true;
    options.sizes = {0, 1, 2, 3, 16, 17, 100, 1000};
    RunIteratorContract(
        "Block.IteratorContract",
        [&](const std::vector<KeyValue>& sorted) {
          return std::make_unique<OwningBlockIter>(BuildBlock(sorted, restart_interval));
        },
        options);
  }
}

TEST(Block, CorruptBytesNeverReadOutOfBounds) {
  // Flip or truncate random bytes of a valid block: parsing and iterating must either
  // succeed or report Corruption, never crash (ASan checks the bounds).
  Random rnd(TestSeed("Block.CorruptBytesNeverReadOutOfBounds"));
  IteratorHarnessOptions options;
  options.internal_keys = true;
  auto entries = GenerateSortedEntries(&rnd, 200, options);
  BlockBuilder builder(16);
  for (const auto& [k, v] : entries) builder.Add(k, v);
  const std::string good(builder.Finish());
  int corruptions = 0;
  for (int trial = 0; trial < 2000; trial++) {
    std::string bad = good;
    if (rnd.OneIn(5)) {
      bad.resize(rnd.Uniform(bad.size()));
    } else {
      for (int f = 0; f < 1 + static_cast<int>(rnd.Uniform(3)); f++) {
        bad[rnd.Uniform(bad.size())] ^= static_cast<char>(1 + rnd.Uniform(255));
      }
    }
    auto block = Block::Parse(bad);
    if (!block.ok()) {
      EXPECT_TRUE(block.status().IsCorruption());
      corruptions++;
      continue;
    }
    BlockIter it(block->get());
    int steps = 0;
    for (it.SeekToFirst(); it.Valid() && steps < 1000; it.Next()) steps++;
    for (it.SeekToLast(); it.Valid() && steps < 2000; it.Prev()) steps++;
    it.Seek(entries[rnd.Uniform(entries.size())].first);
    it.SeekForPrev(entries[rnd.Uniform(entries.size())].first);
    if (!it.status().ok()) {
      EXPECT_TRUE(it.status().IsCorruption()) << it.status().ToString();
      EXPECT_FALSE(it.Valid());
      corruptions++;
    }
  }
  EXPECT_GT(corruptions, 0);
}

TEST(BlockTrailer, CompressionRoundTripAndChecksum) {
  Random rnd(TestSeed("BlockTrailer.CompressionRoundTripAndChecksum"));
  std::string compressible;
  while (compressible.size() < 4096) compressible += "key" + std::to_string(rnd.Uniform(100));
  const std::string random_bytes = rnd.Bytes(4096);
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    const std::string inputs[] = {compressible, random_bytes, "x"};
    for (int which = 0; which < 3; which++) {
      const std::string& raw = inputs[which];
      std::string scratch, stored;
      AppendCompressedBlock(raw, c, &scratch, &stored);
      const auto type = static_cast<Compression>(stored[stored.size() - kBlockTrailerSize]);
      if (which == 0 && c != Compression::kNone) {
        EXPECT_EQ(type, c);
        EXPECT_LT(stored.size(), raw.size() * 3 / 4);
      }
      if (which == 1) {
        EXPECT_EQ(type, Compression::kNone);  // compression saves < 12.5%
      }
      auto decoded = DecodeStoredBlock(stored);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      EXPECT_EQ(*decoded, raw);
      // Any flipped byte is detected by the checksum.
      for (int i = 0; i < 20; i++) {
        std::string bad = stored;
        bad[rnd.Uniform(bad.size())] ^= static_cast<char>(1 + rnd.Uniform(255));
        auto r = DecodeStoredBlock(bad);
        ASSERT_FALSE(r.ok());
        EXPECT_TRUE(r.status().IsCorruption());
      }
    }
  }
}

// A stored block whose few bytes claim a huge uncompressed size is rejected before the size is
// allocated (found by fuzz/stored_block_fuzzer: a 100-byte block allocated 170 MB and only then
// failed to decompress).
TEST(CompressedBlock, ClaimedSizeBoundedByStoredBytes) {
  for (Compression c : {Compression::kLz4, Compression::kZstd}) {
    std::string stored;
    PutVarint32(&stored, 170u << 20);
    stored.append(20, '\x01');
    stored.push_back(static_cast<char>(c));
    PutFixed32(&stored, Checksum32(stored));
    auto r = DecodeStoredBlock(stored);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_EQ(r.status().message(), "bad compressed block size");
  }
  // The bound admits what the compressors really produce: a large block of zeros.
  for (Compression c : {Compression::kLz4, Compression::kZstd}) {
    const std::string raw(8u << 20, '\0');
    std::string scratch, stored;
    AppendCompressedBlock(raw, c, &scratch, &stored);
    auto decoded = DecodeStoredBlock(stored);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, raw);
  }
}

TEST(Bloom, NoFalseNegativesAndAboutOnePercentFalsePositives) {
  Random rnd(TestSeed("Bloom.NoFalseNegativesAndAboutOnePercentFalsePositives"));
  for (size_t n : {1, 10, 1000, 100000}) {
    BloomFilterBuilder builder(10);
    std::vector<std::string> keys;
    for (size_t i = 0; i < n; i++) {
      keys.push_back("key" + std::to_string(i) + "-" + std::to_string(rnd.Next64()));
      builder.AddKey(keys.back());
    }
    const std::string filter = builder.Finish();
    auto reader = BloomFilterReader::Create(filter);
    ASSERT_TRUE(reader.ok());
    for (const auto& k : keys) ASSERT_TRUE((*reader)->MayContain(k)) << k;
    const int probes = 200000;
    int false_positives = 0;
    for (int i = 0; i < probes; i++) {
      if ((*reader)->MayContain("other" + std::to_string(i))) false_positives++;
    }
    const double rate = static_cast<double>(false_positives) / probes;
    std::fprintf(stderr, "bloom n=%zu bytes=%zu fp=%.4f\n", n, filter.size(), rate);
    if (n >= 1000) {
      EXPECT_LT(rate, 0.015);
      EXPECT_GT(rate, 0.003);  // not a degenerate (oversized) filter
    }
  }
}

TEST(Bloom, EmptyAndCorruptFilters) {
  BloomFilterBuilder builder(10);
  auto empty = BloomFilterReader::Create(builder.Finish());
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE((*empty)->MayContain("a"));
  EXPECT_TRUE(BloomFilterReader::Create("").status().IsCorruption());
  BloomFilterBuilder b2(10);
  b2.AddKey("a");
  std::string f = b2.Finish();
  f.pop_back();
  EXPECT_TRUE(BloomFilterReader::Create(f).status().IsCorruption());
}

// An empty block (no restart points): the cache does not look inside values.
std::shared_ptr<const Block> EmptyBlock() { return *Block::Parse(std::string(4, '\0')); }

TEST(BlockCache, LruEvictionAndStats) {
  auto cache = BlockCache::Create(1000, /*num_shard_bits=*/0);
  const uint64_t id = cache->NewId();
  auto b = EmptyBlock();
  for (uint64_t off = 0; off < 10; off++) cache->Insert(id, off, b, 100);
  EXPECT_EQ(cache->GetStats().bytes, 1000u);
  // Touch 0 so it is most recent; inserting one more evicts 1 (the least recent).
  EXPECT_NE(cache->Lookup(id, 0), nullptr);
  cache->Insert(id, 10, b, 100);
  EXPECT_NE(cache->Lookup(id, 0), nullptr);
  EXPECT_EQ(cache->Lookup(id, 1), nullptr);
  EXPECT_NE(cache->Lookup(id, 10), nullptr);
  auto s = cache->GetStats();
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.inserts, 11u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.bytes, 1000u);
  EXPECT_EQ(s.entries, 10u);
  // Another owner id does not see these entries; an oversized entry is not cached.
  EXPECT_EQ(cache->Lookup(cache->NewId(), 0), nullptr);
  cache->Insert(id, 99, b, 5000);
  EXPECT_EQ(cache->Lookup(id, 99), nullptr);
  // An entry in use survives eviction.
  auto held = cache->Lookup(id, 10);
  cache->Clear();
  EXPECT_EQ(cache->GetStats().bytes, 0u);
  EXPECT_EQ(held, b);
}

TEST(BlockCache, InsertIfRoomNeverEvictsAndGoesToTheColdEnd) {
  auto cache = BlockCache::Create(500, /*num_shard_bits=*/0);
  const uint64_t id = cache->NewId();
  auto b = EmptyBlock();
  for (uint64_t off = 0; off < 3; off++) cache->Insert(id, off, b, 100);
  // Room for two more: both go in; the third finds no room and evicts nothing.
  EXPECT_TRUE(cache->InsertIfRoom(id, 10, b, 100));
  EXPECT_TRUE(cache->InsertIfRoom(id, 11, b, 100));
  EXPECT_FALSE(cache->InsertIfRoom(id, 12, b, 100));
  EXPECT_FALSE(cache->InsertIfRoom(id, 0, b, 1));  // cached already
  auto s = cache->GetStats();
  EXPECT_EQ(s.bytes, 500u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.entries, 5u);
  // Under pressure the cold entries go first (11 is the coldest, then 10), before 0..2 that
  // were inserted earlier as hot.
  cache->Insert(id, 20, b, 100);
  EXPECT_FALSE(cache->Contains(id, 11));
  EXPECT_TRUE(cache->Contains(id, 10));
  // A hit makes a cold entry hot.
  EXPECT_NE(cache->Lookup(id, 10), nullptr);
  cache->Insert(id, 21, b, 100);
  EXPECT_TRUE(cache->Contains(id, 10));
  EXPECT_FALSE(cache->Contains(id, 0));
}

// Second chance: an entry hit between evictions is never the victim; once the hits stop, its
// mark is spent on one pass of the cold end and it goes like any other.
TEST(BlockCache, HitEntriesGetASecondChance) {
  auto cache = BlockCache::Create(500, /*num_shard_bits=*/0);
  const uint64_t id = cache->NewId();
  auto b = EmptyBlock();
  for (uint64_t off = 0; off < 5; off++) cache->Insert(id, off, b, 100);
  for (uint64_t off = 100; off < 120; off++) {
    ASSERT_NE(cache->Lookup(id, 0), nullptr) << off;
    cache->Insert(id, off, b, 100);
    EXPECT_TRUE(cache->Contains(id, off));
  }
  EXPECT_EQ(cache->GetStats().entries, 5u);
  for (uint64_t off = 200; off < 206; off++) cache->Insert(id, off, b, 100);
  EXPECT_FALSE(cache->Contains(id, 0));
  EXPECT_EQ(cache->GetStats().bytes, 500u);
}

// A cache whose every entry is marked still evicts: the marks are cleared one pass at a time.
TEST(BlockCache, EvictsWhenEveryEntryIsMarked) {
  auto cache = BlockCache::Create(300, /*num_shard_bits=*/0);
  const uint64_t id = cache->NewId();
  auto b = EmptyBlock();
  for (uint64_t off = 0; off < 3; off++) cache->Insert(id, off, b, 100);
  for (uint64_t off = 0; off < 3; off++) ASSERT_NE(cache->Lookup(id, off), nullptr);
  cache->Insert(id, 9, b, 250);  // needs room for itself: the other three must all go
  auto s = cache->GetStats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, 250u);
  EXPECT_TRUE(cache->Contains(id, 9));
}

TEST(BlockCache, EraseFreesCapacity) {
  auto cache = BlockCache::Create(300, /*num_shard_bits=*/0);
  const uint64_t id = cache->NewId();
  auto b = EmptyBlock();
  for (uint64_t off = 0; off < 3; off++) cache->Insert(id, off, b, 100);
  auto held = cache->Lookup(id, 1);
  cache->Erase(id, 1);
  cache->Erase(id, 77);  // not cached: nothing happens
  EXPECT_FALSE(cache->Contains(id, 1));
  EXPECT_EQ(cache->GetStats().bytes, 200u);
  EXPECT_EQ(cache->GetStats().entries, 2u);
  EXPECT_EQ(held, b);  // the user's reference stays valid
  EXPECT_TRUE(cache->InsertIfRoom(id, 5, b, 100));
  EXPECT_EQ(cache->GetStats().evictions, 0u);
}

// The shard's open-addressing index against a model: random inserts, erases and lookups over
// a small key universe (so probe runs collide, wrap around and shift back on erase), first with
// room for everything, then under eviction, where the cache must still agree with itself.
TEST(BlockCache, IndexMatchesAModelUnderInsertEraseAndEviction) {
  Random rnd(TestSeed("BlockCache.IndexMatchesAModelUnderInsertEraseAndEviction"));
  auto b = EmptyBlock();
  {
    auto cache = BlockCache::Create(1 << 20, /*num_shard_bits=*/0);
    const uint64_t id = cache->NewId();
    std::set<uint64_t> model;
    for (int i = 0; i < 20000; i++) {
      const uint64_t off = rnd.Uniform(300);
      switch (rnd.Uniform(4)) {
        case 0:
          cache->Insert(id, off, b, 10);
          model.insert(off);
          break;
        case 1:
          EXPECT_EQ(cache->InsertIfRoom(id, off, b, 10), model.insert(off).second) << off;
          break;
        case 2:
          cache->Erase(id, off);
          model.erase(off);
          break;
        default:
          ASSERT_EQ(cache->Lookup(id, off) != nullptr, model.count(off) == 1) << "op " << i;
      }
    }
    for (uint64_t off = 0; off < 300; off++) {
      ASSERT_EQ(cache->Contains(id, off), model.count(off) == 1) << off;
    }
    EXPECT_EQ(cache->GetStats().entries, model.size());
    EXPECT_EQ(cache->GetStats().bytes, model.size() * 10);
    EXPECT_EQ(cache->GetStats().evictions, 0u);
  }
  {
    auto cache = BlockCache::Create(50 * 10, /*num_shard_bits=*/0);
    const uint64_t id = cache->NewId();
    for (int i = 0; i < 20000; i++) {
      const uint64_t off = rnd.Uniform(300);
      if (rnd.Uniform(3) == 0) {
        cache->Erase(id, off);
        ASSERT_FALSE(cache->Contains(id, off));
      } else if (cache->Lookup(id, off) == nullptr) {
        cache->Insert(id, off, b, 10);
        ASSERT_TRUE(cache->Contains(id, off)) << "a new entry is never its own victim";
      }
    }
    size_t present = 0;
    for (uint64_t off = 0; off < 300; off++) present += cache->Contains(id, off) ? 1 : 0;
    auto s = cache->GetStats();
    EXPECT_EQ(s.entries, present);
    EXPECT_EQ(s.bytes, present * 10);
    EXPECT_LE(s.bytes, 500u);
    EXPECT_GT(s.evictions, 0u);
  }
}

TEST(BlockCache, ConcurrentUse) {
  auto cache = BlockCache::Create(64 * 100);
  const uint64_t id = cache->NewId();
  auto b = EmptyBlock();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Random rnd(t);
      for (int i = 0; i < 20000; i++) {
        const uint64_t off = rnd.Uniform(500);
        if (cache->Lookup(id, off) == nullptr) cache->Insert(id, off, b, 64);
      }
    });
  }
  for (auto& t : threads) t.join();
  auto s = cache->GetStats();
  EXPECT_LE(s.bytes, 64u * 100);
  EXPECT_EQ(s.hits + s.misses, 80000u);
}

}  // namespace
}  // namespace cloudkv
