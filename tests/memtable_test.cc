// SPDX-License-Identifier: Apache-2.0
#include "db/memtable.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "db/arena.h"
#include "db/skiplist.h"
#include "iterator_model_check.h"
#include "util/coding.h"
#include "util/random.h"

namespace cloudkv {
namespace {

TEST(Arena, AllocationsAreDistinctAlignedAndCounted) {
  Random rnd(TestSeed("Arena.AllocationsAreDistinctAlignedAndCounted"));
  Arena arena(Arena::kMinBlockBytes);
  const size_t initial = arena.MemoryUsage();
  std::vector<std::pair<char*, size_t>> allocations;
  size_t total = 0;
  for (int i = 0; i < 2000; i++) {
    size_t bytes = rnd.OneIn(50) ? rnd.Range(1, 5000) : rnd.Range(1, 100);
    char* p = rnd.OneIn(2) ? arena.AllocateAligned(bytes) : arena.Allocate(bytes);
    std::memset(p, i & 0xff, bytes);
    allocations.emplace_back(p, bytes);
    total += bytes;
    ASSERT_GE(arena.MemoryUsage(), initial + total);
  }
  for (size_t i = 0; i < allocations.size(); i++) {
    auto [p, bytes] = allocations[i];
    for (size_t j = 0; j < bytes; j++) ASSERT_EQ(static_cast<unsigned char>(p[j]), i & 0xff);
  }
  for (int i = 0; i < 100; i++) {
    char* p = arena.AllocateAligned(rnd.Range(1, 50));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Arena::kAlignment, 0u);
    arena.Allocate(rnd.Range(1, 7));
  }
  // Overhead stays moderate: blocks are mostly used.
  EXPECT_LT(arena.MemoryUsage(), 2 * total + 64 * 1024);
}

struct U64Compare {
  int operator()(uint64_t a, uint64_t b) const { return a < b ? -1 : (a > b ? 1 : 0); }
};

TEST(SkipList, MatchesSetModel) {
  Random rnd(TestSeed("SkipList.MatchesSetModel"));
  Arena arena;
  SkipList<uint64_t, U64Compare> list(U64Compare(), &arena);
  std::set<uint64_t> model;
  for (int i = 0; i < 5000; i++) {
    uint64_t k = rnd.Uniform(20000);
    if (model.insert(k).second) list.Insert(k);
  }
  EXPECT_EQ(list.Count(), model.size());
  for (uint64_t k = 0; k < 20000; k += 7) EXPECT_EQ(list.Contains(k), model.count(k) == 1);

  SkipList<uint64_t, U64Compare>::Iterator it(&list);
  it.SeekToFirst();
  for (uint64_t k : model) {
    ASSERT_TRUE(it.Valid());
    ASSERT_EQ(it.key(), k);
    it.Next();
  }
  EXPECT_FALSE(it.Valid());
  it.SeekToLast();
  for (auto r = model.rbegin(); r != model.rend(); ++r) {
    ASSERT_TRUE(it.Valid());
    ASSERT_EQ(it.key(), *r);
    it.Prev();
  }
  EXPECT_FALSE(it.Valid());
  for (int i = 0; i < 2000; i++) {
    uint64_t t = rnd.Uniform(20100);
    it.Seek(t);
    auto lb = model.lower_bound(t);
    ASSERT_EQ(it.Valid(), lb != model.end());
    if (it.Valid()) {
      ASSERT_EQ(it.key(), *lb);
    }
    it.SeekForPrev(t);
    auto ub = model.upper_bound(t);
    ASSERT_EQ(it.Valid(), ub != model.begin());
    if (it.Valid()) {
      ASSERT_EQ(it.key(), *std::prev(ub));
    }
  }
}

TEST(SkipList, Empty) {
  Arena arena;
  SkipList<uint64_t, U64Compare> list(U64Compare(), &arena);
  SkipList<uint64_t, U64Compare>::Iterator it(&list);
  it.SeekToFirst();
  EXPECT_FALSE(it.Valid());
  it.SeekToLast();
  EXPECT_FALSE(it.Valid());
  it.Seek(5);
  EXPECT_FALSE(it.Valid());
  it.SeekForPrev(5);
  EXPECT_FALSE(it.Valid());
  EXPECT_FALSE(list.Contains(0));
}

// A model of one memtable: user key -> sequence -> (type, value).
struct Version {
  ValueType type;
  std::string value;
};
using VersionModel = std::map<std::string, std::map<SequenceNumber, Version>>;

std::string RandomKey(Random* rnd, int key_space) {
  // Variable lengths and a shared prefix, so prefix ordering matters.
  std::string k = "k" + std::to_string(rnd->Uniform(key_space));
  if (rnd->OneIn(4)) k.push_back('\0');
  return k;
}

// With 16 index buckets every chain holds about 20 keys; with 4096 most hold one.
class MemTableIndexTest : public ::testing::TestWithParam<size_t> {};
INSTANTIATE_TEST_SUITE_P(IndexBuckets, MemTableIndexTest, ::testing::Values(16, 4096));

TEST_P(MemTableIndexTest, GetMatchesModelAtEverySnapshot) {
  Random rnd(TestSeed("MemTable.GetMatchesModelAtEverySnapshot"));
  auto mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, GetParam());
  VersionModel model;
  SequenceNumber seq = 100;
  for (int i = 0; i < 3000; i++) {
    seq += rnd.Range(1, 3);
    std::string key = RandomKey(&rnd, 300);
    uint64_t op = rnd.Uniform(10);
    if (op < 6) {
      std::string value = rnd.Printable(rnd.Uniform(40));
      mem->Add(seq, kTypeValue, key, value);
      model[key][seq] = {kTypeValue, value};
    } else if (op < 9) {
      mem->Add(seq, kTypeDeletion, key, "");
      model[key][seq] = {kTypeDeletion, ""};
    } else {
      mem->Add(seq, kTypeRangeDeletion, key, key + "z");
      model[key][seq] = {kTypeRangeDeletion, key + "z"};
    }
  }
  for (int i = 0; i < 5000; i++) {
    std::string key = RandomKey(&rnd, 330);
    SequenceNumber snapshot = rnd.Range(90, seq + 5);
    LookupResult result;
    result.value = "stale";
    mem->Get(key, snapshot, &result);
    LookupState want = LookupState::kNotPresent;
    const Version* found = nullptr;
    SequenceNumber found_seq = 0;
    if (auto k = model.find(key); k != model.end()) {
      // Newest non-range-deletion version at or below the snapshot.
      for (auto v = k->second.rbegin(); v != k->second.rend(); ++v) {
        if (v->first > snapshot || v->second.type == kTypeRangeDeletion) continue;
        found = &v->second;
        found_seq = v->first;
        want = v->second.type == kTypeValue ? LookupState::kFound : LookupState::kDeleted;
        break;
      }
    }
    ASSERT_EQ(result.state, want) << key << " @" << snapshot;
    if (found != nullptr) {
      EXPECT_EQ(result.sequence, found_seq);
      if (want == LookupState::kFound) {
        EXPECT_EQ(result.value, found->value);
      }
    }
  }
}

TEST(MemTable, IteratorMatchesModel) {
  Random rnd(TestSeed("MemTable.IteratorMatchesModel"));
  auto mem = std::make_shared<MemTable>(Arena::kMinBlockBytes);
  // Point entries and range tombstones go to separate iterators.
  std::map<std::string, std::string, InternalKeyLess> model, range_model;
  for (int i = 0; i < 2000; i++) {
    std::string key = RandomKey(&rnd, 200);
    SequenceNumber seq = rnd.Range(1, 1000);
    ValueType type = static_cast<ValueType>(rnd.Uniform(3));
    std::string ikey = MakeInternalKey(key, seq, type);
    auto& m = type == kTypeRangeDeletion ? range_model : model;
    if (m.count(ikey)) continue;
    std::string value = type == kTypeDeletion ? "" : rnd.Printable(rnd.Uniform(30));
    mem->Add(seq, type, key, value);
    m[ikey] = value;
  }
  auto random_target = [&] {
    return MakeInternalKey(RandomKey(&rnd, 220), rnd.Range(0, 1001),
                           static_cast<ValueType>(rnd.Uniform(3)));
  };
  ModelEntries entries(model.begin(), model.end());
  auto it = mem->NewIterator();
  CheckIteratorAgainstModel(it.get(), entries, InternalKeyLess(), &rnd, 20000, random_target);
  ModelEntries range_entries(range_model.begin(), range_model.end());
  ASSERT_FALSE(range_entries.empty());
  auto range_it = mem->NewRangeTombstoneIterator();
  CheckIteratorAgainstModel(range_it.get(), range_entries, InternalKeyLess(), &rnd, 5000,
                            random_target);
}

TEST(MemTable, CountersAndTimes) {
  MemTable mem;
  EXPECT_TRUE(mem.empty());
  EXPECT_EQ(mem.NumEntries(), 0u);
  const size_t empty_usage = mem.ApproximateMemoryUsage();
  EXPECT_GT(empty_usage, 0u);
  mem.Add(7, kTypeValue, "a", std::string(1000, 'x'));
  mem.Add(5, kTypeDeletion, "b", "");
  mem.Add(9, kTypeRangeDeletion, "c", "d");
  EXPECT_FALSE(mem.empty());
  EXPECT_EQ(mem.NumEntries(), 3u);
  EXPECT_EQ(mem.NumRangeDeletions(), 1u);
  EXPECT_TRUE(mem.HasRangeDeletions());
  EXPECT_EQ(mem.SmallestSequence(), 5u);
  EXPECT_EQ(mem.LargestSequence(), 9u);
  EXPECT_GE(mem.ApproximateMemoryUsage(), empty_usage);
  for (int i = 0; i < 1000; i++) {
    mem.Add(10 + i, kTypeValue, "k" + std::to_string(i), std::string(100, 'v'));
  }
  EXPECT_GT(mem.ApproximateMemoryUsage(), 1000u * 100);
  EXPECT_EQ(mem.first_write_time_micros(), 0u);
  mem.set_first_write_time_micros(123456);
  EXPECT_EQ(mem.first_write_time_micros(), 123456u);

  // The range deletion is stored apart from point entries.
  auto it = mem.NewRangeTombstoneIterator();
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), MakeInternalKey("c", 9, kTypeRangeDeletion));
  EXPECT_EQ(it->value(), "d");
  it->Next();
  EXPECT_FALSE(it->Valid());
  auto points = mem.NewIterator();
  points->Seek(MakeInternalKey("c", kMaxSequenceNumber, kValueTypeForSeek));
  ASSERT_TRUE(points->Valid());
  EXPECT_EQ(ExtractUserKey(points->key()), "k0");
}

TEST(MemTable, RangeTombstonesAreFragmentedAndCachedUntilTheNextOne) {
  MemTable mem;
  EXPECT_EQ(mem.GetRangeTombstones(), nullptr);
  mem.Add(1, kTypeValue, "b", "1");
  EXPECT_EQ(mem.GetRangeTombstones(), nullptr);
  mem.Add(2, kTypeRangeDeletion, "a", "c");
  RangeTombstoneListPtr first = mem.GetRangeTombstones();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(mem.GetRangeTombstones(), first);  // cached
  EXPECT_EQ(first->MaxCoveringSeq("b", 5), 2u);
  EXPECT_EQ(first->MaxCoveringSeq("b", 1), 0u);
  EXPECT_EQ(first->MaxCoveringSeq("c", 5), 0u);
  mem.Add(3, kTypeRangeDeletion, "b", "d");
  RangeTombstoneListPtr second = mem.GetRangeTombstones();
  ASSERT_NE(second, first);
  EXPECT_EQ(second->num_fragments(), 3u);  // [a,b) {2}, [b,c) {3,2}, [c,d) {3}
  EXPECT_EQ(second->MaxCoveringSeq("c", 5), 3u);
  EXPECT_EQ(second->MaxCoveringSeq("b", 2), 2u);
  // Point lookups are unaffected by range tombstones (callers combine them).
  LookupResult r;
  mem.Get("b", 5, &r);
  EXPECT_EQ(r.state, LookupState::kFound);
}

TEST(MemTable, LargeKeysAndValues) {
  MemTable mem;
  std::string big_key(100000, 'k');
  std::string big_value(300000, 'v');
  mem.Add(1, kTypeValue, big_key, big_value);
  mem.Add(2, kTypeValue, "", "empty key");
  LookupResult r;
  mem.Get(big_key, 5, &r);
  ASSERT_EQ(r.state, LookupState::kFound);
  EXPECT_EQ(r.value, big_value);
  mem.Get("", 5, &r);
  ASSERT_EQ(r.state, LookupState::kFound);
  EXPECT_EQ(r.value, "empty key");
  mem.Get("", 1, &r);
  EXPECT_EQ(r.state, LookupState::kNotPresent);
}

TEST(MemTable, IteratorKeepsSharedMemTableAlive) {
  auto mem = std::make_shared<MemTable>();
  mem->Add(1, kTypeValue, "a", "1");
  auto it = mem->NewIterator();
  std::weak_ptr<MemTable> weak = mem;
  mem.reset();
  EXPECT_FALSE(weak.expired());
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->value(), "1");
  it.reset();
  EXPECT_TRUE(weak.expired());
}

TEST(MemTable, InsertBatchUsesConsecutiveSequences) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Delete("b");
  batch.DeleteRange("c", "e");
  batch.Put("a", "2");
  MemTable mem;
  ASSERT_TRUE(InsertBatchIntoMemTable(batch, 50, &mem).ok());
  EXPECT_EQ(mem.NumEntries(), 4u);
  EXPECT_EQ(mem.SmallestSequence(), 50u);
  EXPECT_EQ(mem.LargestSequence(), 53u);
  LookupResult r;
  mem.Get("a", 52, &r);
  ASSERT_EQ(r.state, LookupState::kFound);
  EXPECT_EQ(r.value, "1");
  EXPECT_EQ(r.sequence, 50u);
  mem.Get("a", 53, &r);
  EXPECT_EQ(r.value, "2");
  mem.Get("b", 53, &r);
  EXPECT_EQ(r.state, LookupState::kDeleted);
  EXPECT_EQ(r.sequence, 51u);
  auto it = mem.NewRangeTombstoneIterator();
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), MakeInternalKey("c", 52, kTypeRangeDeletion));
  EXPECT_EQ(it->value(), "e");

  WriteBatch corrupt;
  ASSERT_FALSE(corrupt.SetData(std::string("\x01\x05", 2), 1).ok());
}

// One writer inserts keys 0..N-1 (value derived from the key) and publishes how many are done;
// readers concurrently check that every published key is found, and that iteration is sorted
// and never shows a malformed entry.
TEST_P(MemTableIndexTest, ConcurrentReadersWithOneWriter) {
  Random rnd(TestSeed("MemTable.ConcurrentReadersWithOneWriter"));
  constexpr int kKeys = 20000;
  std::vector<int> order(kKeys);
  for (int i = 0; i < kKeys; i++) order[i] = i;
  for (int i = kKeys - 1; i > 0; i--) std::swap(order[i], order[rnd.Uniform(i + 1)]);
  auto key_of = [](int i) {
    std::string k;
    PutFixed32(&k, static_cast<uint32_t>(__builtin_bswap32(static_cast<uint32_t>(i))));
    return k;
  };
  auto value_of = [](const std::string_view key) { return "value-of-" + std::string(key); };

  auto mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, GetParam());
  std::atomic<int> published{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> failures{0};

  std::vector<std::thread> readers;
  for (int t = 0; t < 3; t++) {
    readers.emplace_back([&, t] {
      Random r(rnd.seed() + t + 1);
      while (!done.load(std::memory_order_acquire)) {
        int n = published.load(std::memory_order_acquire);
        if (n > 0) {
          int i = order[r.Uniform(n)];
          LookupResult result;
          mem->Get(key_of(i), kMaxSequenceNumber, &result);
          if (result.state != LookupState::kFound || result.value != value_of(key_of(i))) {
            failures.fetch_add(1);
          }
        }
        if (r.OneIn(50)) {
          auto it = mem->NewIterator();
          std::string last;
          int seen = 0;
          for (it->SeekToFirst(); it->Valid() && seen < 2000; it->Next(), seen++) {
            std::string_view ik = it->key();
            ParsedInternalKey parsed;
            if (!ParseInternalKey(ik, &parsed) || it->value() != value_of(parsed.user_key) ||
                (!last.empty() && CompareInternalKeys(last, ik) >= 0)) {
              failures.fetch_add(1);
            }
            last.assign(ik);
          }
        }
      }
    });
  }
  for (int i = 0; i < kKeys; i++) {
    std::string k = key_of(order[i]);
    mem->Add(static_cast<SequenceNumber>(i + 1), kTypeValue, k, value_of(k));
    published.store(i + 1, std::memory_order_release);
  }
  done.store(true, std::memory_order_release);
  for (auto& th : readers) th.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(mem->NumEntries(), static_cast<uint64_t>(kKeys));
}

// Readers at an old snapshot while the writer replaces every key's newest entry: the index
// then points past the snapshot and the reader must fall back to the skiplist, never see the
// newer value, and never miss the key.
TEST_P(MemTableIndexTest, OldSnapshotReadersWhileKeysAreOverwritten) {
  Random rnd(TestSeed("MemTable.OldSnapshotReadersWhileKeysAreOverwritten"));
  constexpr int kKeys = 5000;
  auto key_of = [](int i) { return "key" + std::to_string(i); };
  auto mem = std::make_shared<MemTable>(Arena::kDefaultBlockBytes, GetParam());
  for (int i = 0; i < kKeys; i++) mem->Add(i + 1, kTypeValue, key_of(i), "first" + key_of(i));
  const SequenceNumber old_snapshot = kKeys;

  std::atomic<bool> done{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; t++) {
    readers.emplace_back([&, t] {
      Random r(rnd.seed() + t + 1);
      while (!done.load(std::memory_order_acquire)) {
        const int i = static_cast<int>(r.Uniform(kKeys));
        LookupResult old_read;
        mem->Get(key_of(i), old_snapshot, &old_read);
        if (old_read.state != LookupState::kFound || old_read.value != "first" + key_of(i) ||
            old_read.sequence != static_cast<SequenceNumber>(i + 1)) {
          failures.fetch_add(1);
        }
        LookupResult newest;
        mem->Get(key_of(i), kMaxSequenceNumber, &newest);
        const bool value_ok = newest.state == LookupState::kFound &&
                              (newest.value == "first" + key_of(i) || newest.value == "later");
        if (!value_ok && newest.state != LookupState::kDeleted) failures.fetch_add(1);
      }
    });
  }
  // Passes of puts then deletes: the last one deletes every key.
  constexpr int kPasses = 10;
  SequenceNumber seq = old_snapshot;
  for (int pass = 0; pass < kPasses; pass++) {
    const bool put = pass % 2 == 0;
    for (int i = 0; i < kKeys; i++) {
      mem->Add(++seq, put ? kTypeValue : kTypeDeletion, key_of(i), put ? "later" : "");
    }
  }
  done.store(true, std::memory_order_release);
  for (auto& th : readers) th.join();
  EXPECT_EQ(failures.load(), 0u);
  for (int i = 0; i < kKeys; i++) {
    LookupResult newest;
    mem->Get(key_of(i), kMaxSequenceNumber, &newest);
    ASSERT_EQ(newest.state, LookupState::kDeleted) << key_of(i);
    EXPECT_EQ(newest.sequence, old_snapshot + (kPasses - 1) * kKeys + i + 1);
  }
}

}  // namespace
}  // namespace cloudkv
