// SPDX-License-Identifier: Apache-2.0
// SST builder and reader: round trips, Get semantics, the iterator contract, read units and
// readahead, corruption of every region, and concurrent readers.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "cache/block_cache.h"
#include "db/version.h"
#include "format/dbformat.h"
#include "format/sst_builder.h"
#include "format/sst_format.h"
#include "format/sst_reader.h"
#include "store/stores.h"
#include "support/iterator_harness.h"
#include "util/coding.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string BuildSst(const std::vector<KeyValue>& entries, const SstBuilderOptions& options,
                     SstProperties* props = nullptr) {
  SstBuilder builder(options, /*epoch=*/7, /*nonce=*/0x1234, /*create_time_micros=*/99);
  for (const auto& [k, v] : entries) builder.Add(k, v);
  EXPECT_EQ(builder.NumEntries(), entries.size());
  auto sst = builder.Finish(props);
  EXPECT_TRUE(sst.ok()) << sst.status().ToString();
  return sst.ok() ? *sst : std::string();
}

class SstTest : public ::testing::Test {
 protected:
  std::shared_ptr<SstReader> Open(const std::string& sst, const SstReadOptions& options = {},
                                  std::string key = "") {
    if (key.empty()) key = "sst/" + std::to_string(next_++) + ".sst";
    EXPECT_TRUE(store_->Put(key, sst).ok());
    auto reader = SstReader::Open(store_, key, sst.size(), options);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? *reader : nullptr;
  }

  std::shared_ptr<ObjectStore> store_ = NewPrivateMemoryStore("sst_test");
  int next_ = 0;
};

// The model answer of SstReader::Get over sorted internal entries.
LookupResult ModelGet(const std::vector<KeyValue>& sorted, std::string_view user_key,
                      SequenceNumber snapshot) {
  LookupResult r;
  for (const auto& [k, v] : sorted) {
    ParsedInternalKey p;
    EXPECT_TRUE(ParseInternalKey(k, &p));
    if (p.user_key != user_key || p.sequence > snapshot || p.type == kTypeRangeDeletion) {
      continue;
    }
    r.state = p.type == kTypeValue ? LookupState::kFound : LookupState::kDeleted;
    r.sequence = p.sequence;
    if (p.type == kTypeValue) r.value = v;
    return r;
  }
  return r;
}

void ExpectSameLookup(const LookupResult& got, const LookupResult& want, std::string_view key,
                      SequenceNumber snapshot) {
  EXPECT_EQ(got.state, want.state) << "key " << key << " snapshot " << snapshot;
  if (got.state == want.state && want.state != LookupState::kNotPresent) {
    EXPECT_EQ(got.sequence, want.sequence) << key;
    if (want.state == LookupState::kFound) {
      EXPECT_EQ(got.value, want.value) << key;
    }
  }
}

TEST_F(SstTest, RoundTripRandomData) {
  Random rnd(TestSeed("SstTest.RoundTripRandomData"));
  IteratorHarnessOptions gen;
  gen.internal_keys = true;
  gen.max_value_bytes = 200;
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    for (size_t block_size : {64, 1024, 4096}) {
      auto entries = GenerateSortedEntries(&rnd, 3000, gen);
      SstBuilderOptions bo;
      bo.compression = c;
      bo.block_size = block_size;
      SstProperties props;
      const std::string sst = BuildSst(entries, bo, &props);
      EXPECT_EQ(props.num_entries, entries.size());
      EXPECT_EQ(props.smallest_key, entries.front().first);
      EXPECT_EQ(props.largest_key, entries.back().first);
      SstReadOptions ro;
      ro.cache = BlockCache::Create(1 << 20);
      auto reader = Open(sst, ro);
      ASSERT_NE(reader, nullptr);
      EXPECT_EQ(reader->properties().num_entries, entries.size());
      EXPECT_EQ(reader->properties().data_bytes, props.data_bytes);
      EXPECT_EQ(reader->properties().epoch, 7u);
      EXPECT_EQ(reader->properties().nonce, 0x1234u);
      EXPECT_EQ(reader->properties().create_time_micros, 99u);
      EXPECT_GT(reader->pinned_bytes(), 0u);
      // Scan.
      auto it = reader->NewIterator();
      size_t i = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
        ASSERT_LT(i, entries.size());
        ASSERT_EQ(it->key(), entries[i].first);
        ASSERT_EQ(it->value(), entries[i].second);
      }
      EXPECT_TRUE(it->status().ok());
      EXPECT_EQ(i, entries.size());
      // Point lookups at random snapshots, and of missing keys.
      for (int q = 0; q < 500; q++) {
        std::string user(ExtractUserKey(entries[rnd.Uniform(entries.size())].first));
        if (rnd.OneIn(4)) user += "-missing";
        const SequenceNumber snap = rnd.OneIn(3) ? kMaxSequenceNumber : rnd.Uniform(1100);
        LookupResult got;
        ASSERT_TRUE(reader->Get(user, snap, &got).ok());
        ExpectSameLookup(got, ModelGet(entries, user, snap), user, snap);
      }
    }
  }
}

TEST_F(SstTest, EmptyAndSingleEntry) {
  SstBuilderOptions bo;
  SstProperties props;
  auto empty = Open(BuildSst({}, bo, &props));
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->properties().num_entries, 0u);
  EXPECT_EQ(empty->num_data_blocks(), 0u);
  EXPECT_FALSE(empty->MayContain("a"));
  LookupResult r;
  ASSERT_TRUE(empty->Get("a", kMaxSequenceNumber, &r).ok());
  EXPECT_EQ(r.state, LookupState::kNotPresent);
  auto it = empty->NewIterator();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek(MakeInternalKey("a", 1, kTypeValue));
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev(MakeInternalKey("a", 1, kTypeValue));
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());

  auto one = Open(BuildSst({{MakeInternalKey("k", 5, kTypeValue), "v"}}, bo));
  ASSERT_NE(one, nullptr);
  ASSERT_TRUE(one->Get("k", 5, &r).ok());
  EXPECT_EQ(r.state, LookupState::kFound);
  EXPECT_EQ(r.value, "v");
  EXPECT_EQ(r.sequence, 5u);
  ASSERT_TRUE(one->Get("k", 4, &r).ok());
  EXPECT_EQ(r.state, LookupState::kNotPresent);
  ASSERT_TRUE(one->Get("j", 9, &r).ok());
  EXPECT_EQ(r.state, LookupState::kNotPresent);
  EXPECT_EQ(one->properties().smallest_seq, 5u);
  EXPECT_EQ(one->properties().largest_seq, 5u);
}

TEST_F(SstTest, VersionsSpanningBlocksAndSnapshots) {
  // 300 versions of "key" (every ninth a deletion) between "a" and "z",
  // in 64-byte blocks, so the versions of one key span many blocks.
  std::vector<KeyValue> entries;
  entries.emplace_back(MakeInternalKey("a", 1, kTypeValue), "a1");
  for (SequenceNumber seq = 900; seq >= 3; seq -= 3) {
    ValueType t = seq % 9 == 0 ? kTypeDeletion : kTypeValue;
    entries.emplace_back(MakeInternalKey("key", seq, t), "v" + std::to_string(seq));
  }
  entries.emplace_back(MakeInternalKey("z", 2, kTypeValue), "z2");
  SstBuilderOptions bo;
  bo.block_size = 64;
  SstProperties props;
  auto reader = Open(BuildSst(entries, bo, &props));
  ASSERT_NE(reader, nullptr);
  EXPECT_GT(reader->num_data_blocks(), 50u);
  EXPECT_EQ(props.num_deletions, 100u);  // multiples of 9
  EXPECT_EQ(props.num_range_deletions, 0u);
  for (SequenceNumber snap = 0; snap <= 1000; snap++) {
    LookupResult got;
    ASSERT_TRUE(reader->Get("key", snap, &got).ok());
    ExpectSameLookup(got, ModelGet(entries, "key", snap), "key", snap);
  }
  LookupResult got;
  ASSERT_TRUE(reader->Get("ke", 1000, &got).ok());
  EXPECT_EQ(got.state, LookupState::kNotPresent);
  ASSERT_TRUE(reader->Get("keya", 1000, &got).ok());
  EXPECT_EQ(got.state, LookupState::kNotPresent);
}

TEST_F(SstTest, BloomMissMakesNoRequest) {
  std::vector<KeyValue> entries;
  for (int i = 0; i < 1000; i++) {
    char k[16];
    snprintf(k, sizeof(k), "k%06d", i);
    entries.emplace_back(MakeInternalKey(k, 1, kTypeValue), "v");
  }
  auto reader = Open(BuildSst(entries, {}));
  ASSERT_NE(reader, nullptr);
  const uint64_t reads = reader->object_reads();
  int passed_filter = 0;
  for (int i = 0; i < 1000; i++) {
    char k[16];  // sorts between present keys, so a filter pass reads a block
    snprintf(k, sizeof(k), "k%06dx", i);
    LookupResult r;
    ASSERT_TRUE(reader->Get(k, kMaxSequenceNumber, &r).ok());
    EXPECT_EQ(r.state, LookupState::kNotPresent);
    if (reader->MayContain(k)) passed_filter++;
  }
  // Only keys that pass the filter cost a request (no cache here), about 1%.
  EXPECT_EQ(reader->object_reads() - reads, static_cast<uint64_t>(passed_filter));
  EXPECT_LT(passed_filter, 50);
}

TEST_F(SstTest, IteratorContract) {
  struct Variant {
    Compression compression;
    size_t block_size;
    size_t read_unit;
    size_t cache_bytes;  // 0 = no cache
  };
  const Variant variants[] = {
      {Compression::kNone, 64, 0, 0},
      {Compression::kZstd, 64, 64 * 1024, 1 << 20},
      {Compression::kLz4, 128, 0, 4096},
      {Compression::kZstd, 256, 1024, 2048},
      {Compression::kNone, 4096, 64 * 1024, 8192},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE("block_size " + std::to_string(v.block_size) + " read_unit " +
                 std::to_string(v.read_unit));
    SstBuilderOptions bo;
    bo.compression = v.compression;
    bo.block_size = v.block_size;
    SstReadOptions ro;
    ro.read_unit_bytes = v.read_unit;
    if (v.cache_bytes > 0) ro.cache = BlockCache::Create(v.cache_bytes, 1);
    IteratorHarnessOptions options;
    options.internal_keys = true;
    options.operations = 500;
    RunIteratorContract(
        "SstTest.IteratorContract",
        [&](const std::vector<KeyValue>& sorted) {
          std::shared_ptr<SstReader> reader = Open(BuildSst(sorted, bo), ro);
          return reader ? reader->NewIterator(/*fill_cache=*/next_ % 2 == 0) : nullptr;
        },
        options);
  }
}

std::vector<KeyValue> SequentialEntries(int n, size_t value_bytes) {
  std::vector<KeyValue> entries;
  Random rnd(1);
  for (int i = 0; i < n; i++) {
    char k[16];
    snprintf(k, sizeof(k), "k%07d", i);
    entries.emplace_back(MakeInternalKey(k, 1, kTypeValue), rnd.Printable(value_bytes));
  }
  return entries;
}

TEST_F(SstTest, ReadUnitCachesNeighbours) {
  auto entries = SequentialEntries(5000, 100);
  SstBuilderOptions bo;
  bo.compression = Compression::kNone;
  const std::string sst = BuildSst(entries, bo);
  for (size_t unit : {size_t{0}, size_t{64 * 1024}}) {
    SstReadOptions ro;
    ro.read_unit_bytes = unit;
    ro.cache = BlockCache::Create(16 << 20);
    auto reader = Open(sst, ro);
    ASSERT_NE(reader, nullptr);
    const uint64_t before = reader->object_reads();
    // 40 consecutive keys span a few 4 KiB blocks, all inside one 64 KiB unit (or two).
    for (int i = 1000; i < 1040; i++) {
      LookupResult r;
      ASSERT_TRUE(reader->Get(std::string(ExtractUserKey(entries[i].first)), 5, &r).ok());
      ASSERT_EQ(r.state, LookupState::kFound);
      ASSERT_EQ(r.value, entries[i].second);
    }
    const uint64_t reads = reader->object_reads() - before;
    if (unit == 0) {
      EXPECT_GE(reads, 2u);  // one per block
    } else {
      EXPECT_LE(reads, 2u);
      EXPECT_GT(ro.cache->GetStats().inserts, 10u);  // the unit's blocks were cached
    }
  }
}

// Blocks retained while building make every lookup a cache hit without an object read; the
// budget bounds what is retained; closing the reader takes its blocks out of the cache.
TEST_F(SstTest, PrepopulatedBlocksServeReadsAndLeaveWithTheReader) {
  auto entries = SequentialEntries(5000, 100);
  SstBuilderOptions bo;
  bo.compression = Compression::kZstd;
  for (int64_t budget : {int64_t{1} << 30, int64_t{20000}}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    auto shared_budget = std::make_shared<std::atomic<int64_t>>(budget);
    RetainedBlocks retained(shared_budget);
    SstBuilder builder(bo, 7, 0x1234, 99);
    builder.SetDataBlockSink(
        [&](uint64_t offset, std::string_view contents) { retained.Add(offset, contents); });
    for (const auto& [k, v] : entries) builder.Add(k, v);
    auto sst = builder.Finish(nullptr);
    ASSERT_TRUE(sst.ok());
    SstReadOptions ro;
    ro.cache = BlockCache::Create(64 << 20);
    auto reader = Open(*sst, ro);
    ASSERT_NE(reader, nullptr);
    const size_t inserted = reader->Prepopulate(retained);
    EXPECT_EQ(inserted, retained.blocks().size());
    EXPECT_GE(shared_budget->load(), 0);
    if (budget > 20000) {
      EXPECT_EQ(inserted, reader->num_data_blocks());
    } else {
      EXPECT_GT(inserted, 0u);
      EXPECT_LT(inserted, reader->num_data_blocks());
    }
    const uint64_t before = reader->object_reads();
    for (size_t i = 0; i < entries.size(); i += 7) {
      LookupResult r;
      ASSERT_TRUE(reader->Get(std::string(ExtractUserKey(entries[i].first)), 5, &r).ok());
      ASSERT_EQ(r.state, LookupState::kFound);
      ASSERT_EQ(r.value, entries[i].second);
    }
    if (budget > 20000) {
      EXPECT_EQ(reader->object_reads(), before);  // every block came from the cache
    } else {
      EXPECT_GT(reader->object_reads(), before);
    }
    EXPECT_GT(ro.cache->GetStats().entries, 0u);
    reader.reset();
    EXPECT_EQ(ro.cache->GetStats().entries, 0u);
    EXPECT_EQ(ro.cache->GetStats().bytes, 0u);
  }
}

// Retained blocks of another object are ignored unless their offsets are this SST's blocks.
TEST_F(SstTest, PrepopulateIgnoresOffsetsThatAreNotDataBlocks) {
  auto entries = SequentialEntries(200, 10);
  const std::string sst = BuildSst(entries, SstBuilderOptions{});
  SstReadOptions ro;
  ro.cache = BlockCache::Create(1 << 20);
  auto reader = Open(sst, ro);
  ASSERT_NE(reader, nullptr);
  RetainedBlocks retained(nullptr);
  retained.Add(3, std::string(4, '\0'));  // no data block starts at offset 3
  EXPECT_EQ(reader->Prepopulate(retained), 0u);
  EXPECT_EQ(ro.cache->GetStats().entries, 0u);
}

TEST_F(SstTest, IteratorReadsAhead) {
  auto entries = SequentialEntries(20000, 40);
  SstBuilderOptions bo;
  bo.compression = Compression::kNone;
  const std::string sst = BuildSst(entries, bo);
  SstReadOptions ro;
  ro.read_unit_bytes = 4096;
  auto reader = Open(sst, ro);
  ASSERT_NE(reader, nullptr);
  const uint64_t before = reader->object_reads();
  auto it = reader->NewIterator(false);
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  EXPECT_EQ(n, entries.size());
  const uint64_t forward_reads = reader->object_reads() - before;
  // About 1 MiB of blocks read with doubling readahead: far fewer GETs than blocks.
  EXPECT_LT(forward_reads, 20u) << reader->num_data_blocks() << " blocks";
  for (it->SeekToLast(); it->Valid(); it->Prev()) n--;
  EXPECT_EQ(n, 0u);
  EXPECT_LT(reader->object_reads() - before - forward_reads, 20u);
}

// Compaction's scan mode: with exact-block reads configured (file://), an iterator given a scan
// readahead still reads the object in large ranges, and sees every entry.
TEST_F(SstTest, ScanReadaheadOverridesExactBlockReads) {
  auto entries = SequentialEntries(20000, 40);
  SstBuilderOptions bo;
  bo.compression = Compression::kNone;
  const std::string sst = BuildSst(entries, bo);
  SstReadOptions ro;
  ro.read_unit_bytes = 0;
  auto reader = Open(sst, ro);
  ASSERT_NE(reader, nullptr);
  uint64_t before = reader->object_reads();
  auto block_by_block = reader->NewIterator(false);
  size_t n = 0;
  for (block_by_block->SeekToFirst(); block_by_block->Valid(); block_by_block->Next()) n++;
  EXPECT_EQ(n, entries.size());
  EXPECT_EQ(reader->object_reads() - before, reader->num_data_blocks());
  before = reader->object_reads();
  auto scan = reader->NewIterator(false, 256 << 10);
  size_t i = 0;
  for (scan->SeekToFirst(); scan->Valid(); scan->Next(), i++) {
    ASSERT_LT(i, entries.size());
    ASSERT_EQ(scan->key(), entries[i].first);
    ASSERT_EQ(scan->value(), entries[i].second);
  }
  ASSERT_TRUE(scan->status().ok()) << scan->status().ToString();
  EXPECT_EQ(i, entries.size());
  const uint64_t scan_reads = reader->object_reads() - before;
  EXPECT_LE(scan_reads, sst.size() / (256 << 10) + 1) << reader->num_data_blocks() << " blocks";
  EXPECT_GE(scan_reads, 1u);
}

TEST_F(SstTest, LargeMetadataNeedsSecondTailRead) {
  auto entries = SequentialEntries(20000, 10);
  SstBuilderOptions bo;
  bo.block_size = 128;  // a big index
  const std::string sst = BuildSst(entries, bo);
  SstReadOptions ro;
  ro.open_tail_bytes = 4096;
  auto reader = Open(sst, ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->object_reads(), 2u);
  ro.open_tail_bytes = 16 << 20;
  auto whole = Open(sst, ro);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(whole->object_reads(), 1u);
  LookupResult r;
  ASSERT_TRUE(reader->Get("k0012345", 1, &r).ok());
  EXPECT_EQ(r.state, LookupState::kFound);
}

TEST_F(SstTest, ConcurrentReaders) {
  Random rnd(TestSeed("SstTest.ConcurrentReaders"));
  IteratorHarnessOptions gen;
  gen.internal_keys = true;
  auto entries = GenerateSortedEntries(&rnd, 5000, gen);
  SstBuilderOptions bo;
  bo.block_size = 512;
  SstReadOptions ro;
  ro.cache = BlockCache::Create(32 * 1024);  // small: evictions while others read
  ro.read_unit_bytes = 8192;
  auto reader = Open(BuildSst(entries, bo), ro);
  ASSERT_NE(reader, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++) {
    threads.emplace_back([&, t] {
      Random r(rnd.seed() + t);
      for (int i = 0; i < 300; i++) {
        if (r.OneIn(30)) {
          auto it = reader->NewIterator(r.OneIn(2));
          size_t n = 0;
          for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
            if (it->key() != entries[n].first || it->value() != entries[n].second) break;
          }
          if (n != entries.size() || !it->status().ok()) failures++;
          continue;
        }
        const auto& e = entries[r.Uniform(entries.size())];
        std::string user(ExtractUserKey(e.first));
        const SequenceNumber snap = r.Uniform(1100);
        LookupResult got;
        if (!reader->Get(user, snap, &got).ok()) {
          failures++;
          continue;
        }
        LookupResult want = ModelGet(entries, user, snap);
        if (got.state != want.state || got.value != want.value) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(ro.cache->GetStats().evictions, 0u);
}

// Range tombstones round-trip through the range-deletion block (format version 2), are
// pinned and fragmented at Open, widen the SST's key range, and leave point data alone.
TEST_F(SstTest, RangeTombstonesRoundTrip) {
  Random rnd(TestSeed("SstTest.RangeTombstonesRoundTrip"));
  for (int trial = 0; trial < 20; trial++) {
    std::vector<KeyValue> entries;
    for (int i = 0; i < static_cast<int>(rnd.Uniform(200)); i++) {
      char k[16];
      snprintf(k, sizeof(k), "m%05d", i);
      entries.emplace_back(MakeInternalKey(k, 100 + i, kTypeValue), rnd.Printable(10));
    }
    std::vector<RangeTombstone> tombstones;
    const int n = trial == 0 ? 1 : static_cast<int>(rnd.Range(1, 50));
    for (int i = 0; i < n; i++) {
      std::string b = rnd.Printable(rnd.Range(0, 4)), e = rnd.Printable(rnd.Range(1, 4));
      if (b >= e) b = "";
      if (b >= e) continue;
      tombstones.push_back({b, e, 1000 + static_cast<SequenceNumber>(i)});
    }
    if (tombstones.empty()) continue;
    SstBuilder builder(SstBuilderOptions{}, 7, 0x1234, 99);
    for (const auto& t : tombstones) builder.AddRangeTombstone(t.begin, t.end, t.seq);
    for (const auto& [k, v] : entries) builder.Add(k, v);
    SstProperties props;
    auto sst = builder.Finish(&props);
    ASSERT_TRUE(sst.ok()) << sst.status().ToString();
    SstFooter footer;
    ASSERT_TRUE(
        DecodeSstFooter(std::string_view(*sst).substr(sst->size() - kSstFooterSize), &footer).ok());
    EXPECT_EQ(footer.format_version, kSstFormatVersionWithRangeDeletions);
    EXPECT_EQ(props.num_range_deletions, tombstones.size());
    EXPECT_EQ(props.num_entries, entries.size());
    auto reader = Open(*sst);
    ASSERT_NE(reader, nullptr);
    // Stored sorted by (begin, sequence descending).
    std::vector<RangeTombstone> sorted = tombstones;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.seq > b.seq;
    });
    EXPECT_EQ(reader->range_tombstones(), sorted);
    auto fragmented = FragmentRangeTombstones(*reader);
    ASSERT_NE(fragmented, nullptr);
    EXPECT_EQ(reader->properties().num_range_deletions, tombstones.size());
    // smallest/largest cover every tombstone and every point entry.
    std::string_view smallest = ExtractUserKey(reader->properties().smallest_key);
    std::string_view largest = ExtractUserKey(reader->properties().largest_key);
    for (const auto& t : tombstones) {
      EXPECT_LE(smallest, t.begin);
      EXPECT_GE(largest, t.end);
      EXPECT_GE(fragmented->MaxCoveringSeq(t.begin, kMaxSequenceNumber), t.seq);
    }
    EXPECT_EQ(reader->properties().smallest_seq, entries.empty() ? 1000u : 100u);
    // Point data is unchanged.
    auto it = reader->NewIterator();
    size_t i = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
      ASSERT_LT(i, entries.size());
      EXPECT_EQ(it->key(), entries[i].first);
    }
    EXPECT_TRUE(it->status().ok());
    EXPECT_EQ(i, entries.size());
  }
}

// SSTs without range tombstones stay format version 1 (what earlier builds wrote and read);
// unknown versions are refused.
TEST_F(SstTest, FormatVersionOneWithoutTombstonesAndUnknownVersionsRefused) {
  std::vector<KeyValue> entries = {{MakeInternalKey("a", 1, kTypeValue), "1"}};
  std::string v1 = BuildSst(entries, {});
  EXPECT_EQ(DecodeFixed32(v1.data() + 8), kSstFormatVersion);
  auto reader = Open(v1);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->range_tombstones().empty());
  EXPECT_EQ(FragmentRangeTombstones(*reader), nullptr);
  SstFooter footer;
  ASSERT_TRUE(
      DecodeSstFooter(std::string_view(v1).substr(v1.size() - kSstFooterSize), &footer).ok());
  EXPECT_EQ(footer.format_version, 1u);
  // A version-3 footer (a future format) is refused with Corruption, not misread.
  std::string v3 = v1;
  EncodeFixed32(v3.data() + v3.size() - kSstFooterSize + 68, 3);
  ASSERT_TRUE(store_->Put("sst/v3.sst", v3).ok());
  auto bad = SstReader::Open(store_, "sst/v3.sst", v3.size(), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("version"), std::string::npos);

  // An SST holding only range tombstones: no data blocks, a key range from the tombstones.
  SstBuilder only(SstBuilderOptions{}, 7, 0x99, 99);
  only.AddRangeTombstone("c", "f", 5);
  only.AddRangeTombstone("a", "d", 3);
  SstProperties props;
  auto sst = only.Finish(&props);
  ASSERT_TRUE(sst.ok()) << sst.status().ToString();
  EXPECT_EQ(props.smallest_key, MakeInternalKey("a", 3, kTypeRangeDeletion));
  EXPECT_EQ(props.largest_key, MakeInternalKey("f", kMaxSequenceNumber, kTypeRangeDeletion));
  EXPECT_EQ(props.smallest_seq, 3u);
  EXPECT_EQ(props.largest_seq, 5u);
  auto tomb = Open(*sst);
  ASSERT_NE(tomb, nullptr);
  EXPECT_EQ(tomb->num_data_blocks(), 0u);
  EXPECT_EQ(FragmentRangeTombstones(*tomb)->MaxCoveringSeq("c", 10), 5u);
  LookupResult r;
  ASSERT_TRUE(tomb->Get("c", 10, &r).ok());
  EXPECT_EQ(r.state, LookupState::kNotPresent);
}

}  // namespace
}  // namespace cloudkv
