// SPDX-License-Identifier: Apache-2.0
#include "db/db_iterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "db/memtable.h"
#include "db/merging_iterator.h"
#include "iterator_model_check.h"
#include "util/random.h"

namespace cloudkv {
namespace {

struct Version {
  ValueType type;
  std::string value;
};
// user key -> sequence -> version
using VersionModel = std::map<std::string, std::map<SequenceNumber, Version>>;

// True if a range deletion of the model with entry_seq < seq <= snapshot covers key (the
// brute-force answer FragmentedRangeTombstoneList must match).
bool ModelCovered(const VersionModel& model, const std::string& key, SequenceNumber entry_seq,
                  SequenceNumber snapshot) {
  for (const auto& [begin, versions] : model) {
    if (begin > key) break;
    for (const auto& [seq, v] : versions) {
      if (v.type == kTypeRangeDeletion && key < v.value && seq > entry_seq && seq <= snapshot) {
        return true;
      }
    }
  }
  return false;
}

// What a DB iterator at `snapshot` within [lower, upper) must show: the newest point entry at
// or below the snapshot, if it is a value no newer visible range deletion covers.
ModelEntries Visible(const VersionModel& model, SequenceNumber snapshot,
                     const std::optional<std::string>& lower,
                     const std::optional<std::string>& upper) {
  ModelEntries out;
  for (const auto& [key, versions] : model) {
    if (lower && key < *lower) continue;
    if (upper && key >= *upper) continue;
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->first > snapshot || v->second.type == kTypeRangeDeletion) continue;
      if (v->second.type == kTypeValue && !ModelCovered(model, key, v->first, snapshot)) {
        out.emplace_back(key, v->second.value);
      }
      break;
    }
  }
  return out;
}

std::string UserKey(Random* rnd, int key_space) {
  std::string k = std::to_string(rnd->Uniform(key_space));
  if (rnd->OneIn(6)) k.push_back('\0');
  return k;
}

// Random puts, deletes and range deletions (honoured through the memtables' fragmented lists)
// spread over several memtables (as the memtable,
// immutable memtables and L0 would be), read through merging + DB iterators at random
// snapshots and bounds.
TEST(DBIterator, RandomHistoryMatchesModel) {
  Random rnd(TestSeed("DBIterator.RandomHistoryMatchesModel"));
  for (int trial = 0; trial < 60; trial++) {
    const int key_space = static_cast<int>(rnd.Range(1, trial < 20 ? 10 : 200));
    const int num_mems = static_cast<int>(rnd.Range(1, 5));
    std::vector<std::shared_ptr<MemTable>> mems;
    for (int i = 0; i < num_mems; i++) mems.push_back(std::make_shared<MemTable>());
    VersionModel model;
    SequenceNumber seq = 0;
    const int ops = static_cast<int>(rnd.Uniform(trial < 20 ? 40 : 2000));
    for (int i = 0; i < ops; i++) {
      seq++;
      std::string key = UserKey(&rnd, key_space);
      MemTable* mem = mems[rnd.Uniform(mems.size())].get();
      uint64_t op = rnd.Uniform(20);
      if (op < 12) {
        std::string value = rnd.Printable(rnd.Uniform(20));
        mem->Add(seq, kTypeValue, key, value);
        model[key][seq] = {kTypeValue, value};
      } else if (op < 18) {
        mem->Add(seq, kTypeDeletion, key, "");
        model[key][seq] = {kTypeDeletion, ""};
      } else {
        // Mostly short ranges, sometimes wide ones (and empty ones when end <= key).
        std::string end = rnd.OneIn(4) ? UserKey(&rnd, key_space) : key + "5";
        mem->Add(seq, kTypeRangeDeletion, key, end);
        model[key][seq] = {kTypeRangeDeletion, end};
      }
    }
    for (int round = 0; round < 5; round++) {
      SequenceNumber snapshot = rnd.OneIn(3) ? seq : rnd.Range(0, seq + 1);
      std::optional<std::string> lower, upper;
      if (rnd.OneIn(2)) lower = UserKey(&rnd, key_space);
      if (rnd.OneIn(2)) upper = UserKey(&rnd, key_space);
      std::vector<std::unique_ptr<Iterator>> children;
      std::vector<RangeTombstoneListPtr> tombstones;
      for (auto& m : mems) {
        children.push_back(m->NewIterator());
        tombstones.push_back(m->GetRangeTombstones());  // null if none
      }
      auto it = NewDBIterator(NewMergingIterator(std::move(children)), snapshot, lower, upper,
                              tombstones);
      ModelEntries expected = Visible(model, snapshot, lower, upper);
      CheckIteratorAgainstModel(it.get(), expected, std::less<std::string>(), &rnd, 500,
                                [&] { return UserKey(&rnd, key_space + 3); });
      if (HasFatalFailure()) {
        ADD_FAILURE() << "trial " << trial << " snapshot " << snapshot << " lower "
                      << lower.value_or("<none>") << " upper " << upper.value_or("<none>");
        return;
      }
    }
  }
}

// Many hidden versions between shown keys: direction changes must step over them.
TEST(DBIterator, ManyVersionsAndDirectionChanges) {
  auto mem = std::make_shared<MemTable>();
  SequenceNumber seq = 0;
  for (int round = 0; round < 50; round++) {
    for (const char* k : {"a", "b", "c", "d"}) {
      seq++;
      if (std::string(k) == "b" && round % 2 == 1) {
        mem->Add(seq, kTypeDeletion, k, "");
      } else {
        mem->Add(seq, kTypeValue, k, std::string(k) + std::to_string(round));
      }
    }
  }
  // At the last snapshot b is deleted (round 49 is odd).
  auto it = NewDBIterator(mem->NewIterator(), seq, std::nullopt, std::nullopt);
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "a");
  EXPECT_EQ(it->value(), "a49");
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "a");
  it->Next();
  EXPECT_EQ(it->key(), "c");
  it->Next();
  EXPECT_EQ(it->key(), "d");
  EXPECT_EQ(it->value(), "d49");
  it->Next();
  EXPECT_FALSE(it->Valid());
  // An older snapshot (inside round 48) shows b from round 48.
  auto old = NewDBIterator(mem->NewIterator(), 48 * 4 + 2, std::nullopt, std::nullopt);
  old->SeekToLast();
  ASSERT_TRUE(old->Valid());
  EXPECT_EQ(old->key(), "d");
  EXPECT_EQ(old->value(), "d47");
  old->Prev();
  EXPECT_EQ(old->key(), "c");
  EXPECT_EQ(old->value(), "c47");
  old->Prev();
  EXPECT_EQ(old->key(), "b");
  EXPECT_EQ(old->value(), "b48");
  old->Next();
  EXPECT_EQ(old->key(), "c");
  EXPECT_EQ(old->value(), "c47");
}

TEST(DBIterator, BoundsClampSeeks) {
  auto mem = std::make_shared<MemTable>();
  SequenceNumber seq = 0;
  for (const char* k : {"a", "b", "c", "d", "e"}) mem->Add(++seq, kTypeValue, k, k);
  auto it = NewDBIterator(mem->NewIterator(), seq, "b", "d");
  it->Seek("a");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b");
  it->SeekToLast();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("z");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
  it->Prev();
  EXPECT_EQ(it->key(), "b");
  it->Prev();
  EXPECT_FALSE(it->Valid());
  it->Seek("d");
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("a");
  EXPECT_FALSE(it->Valid());
  // Seeking to the iterator's own key (a view into its state) works.
  it->SeekToLast();
  it->Seek(it->key());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
  it->SeekForPrev(it->key());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
}

TEST(DBIterator, CorruptInternalKeyAndChildErrors) {
  ModelEntries entries = {{MakeInternalKey("a", 1, kTypeValue), "1"},
                          {"bad", "x"},  // too short to be an internal key
                          {MakeInternalKey("c", 1, kTypeValue), "3"}};
  std::sort(entries.begin(), entries.end());
  auto it =
      NewDBIterator(std::make_unique<VectorIterator>(entries), 10, std::nullopt, std::nullopt);
  it->SeekToFirst();
  while (it->Valid()) it->Next();
  EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();

  ModelEntries good;
  for (int i = 0; i < 10; i++)
    good.emplace_back(MakeInternalKey("k" + std::to_string(i), 1, kTypeValue), "v");
  auto failing = NewDBIterator(std::make_unique<VectorIterator>(good, /*fail_after=*/4), 10,
                               std::nullopt, std::nullopt);
  failing->SeekToLast();
  int shown = 0;
  while (failing->Valid()) {
    shown++;
    failing->Prev();
  }
  EXPECT_TRUE(failing->status().IsIOError());
  EXPECT_LT(shown, 10);
}

}  // namespace
}  // namespace cloudkv
