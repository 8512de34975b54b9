// SPDX-License-Identifier: Apache-2.0
#include "db/merging_iterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "db/memtable.h"
#include "iterator_model_check.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string RandomUserKey(Random* rnd, int key_space) {
  std::string k = "key" + std::to_string(rnd->Uniform(key_space));
  if (rnd->OneIn(5)) k.push_back(static_cast<char>(rnd->Uniform(256)));
  return k;
}

// Memtables as children; some internal keys appear in several children (with different
// values), which the merging iterator yields in child order.
TEST(MergingIterator, RandomChildrenMatchModel) {
  Random rnd(TestSeed("MergingIterator.RandomChildrenMatchModel"));
  for (int trial = 0; trial < 40; trial++) {
    const int num_children = static_cast<int>(rnd.Range(0, trial < 10 ? 4 : 25));
    const int key_space = static_cast<int>(rnd.Range(1, 300));
    std::vector<std::shared_ptr<MemTable>> mems;
    std::vector<std::unique_ptr<Iterator>> children;
    // (internal key, child index, value)
    std::vector<std::tuple<std::string, int, std::string>> all;
    std::vector<std::string> used;
    for (int c = 0; c < num_children; c++) {
      auto mem = std::make_shared<MemTable>(Arena::kMinBlockBytes);
      std::set<std::string> mine;
      const int n = static_cast<int>(rnd.Uniform(rnd.OneIn(4) ? 3 : 200));
      for (int i = 0; i < n; i++) {
        std::string ikey;
        if (!used.empty() && rnd.OneIn(10)) {
          ikey = used[rnd.Uniform(used.size())];  // duplicate across children
        } else {
          // Point entries only: memtable iterators do not show range tombstones.
          ikey = MakeInternalKey(RandomUserKey(&rnd, key_space), rnd.Range(1, 50),
                                 static_cast<ValueType>(rnd.Uniform(2)));
        }
        if (!mine.insert(ikey).second) continue;
        std::string value = "c" + std::to_string(c) + ":" + rnd.Printable(rnd.Uniform(8));
        ParsedInternalKey parsed;
        ASSERT_TRUE(ParseInternalKey(ikey, &parsed));
        mem->Add(parsed.sequence, parsed.type, parsed.user_key, value);
        all.emplace_back(ikey, c, value);
        used.push_back(ikey);
      }
      children.push_back(mem->NewIterator());
      mems.push_back(std::move(mem));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      int r = CompareInternalKeys(std::get<0>(a), std::get<0>(b));
      return r != 0 ? r < 0 : std::get<1>(a) < std::get<1>(b);
    });
    ModelEntries model;
    for (auto& [k, c, v] : all) model.emplace_back(k, v);
    auto merged = NewMergingIterator(std::move(children));
    CheckIteratorAgainstModel(merged.get(), model, InternalKeyLess(), &rnd, 3000, [&] {
      return MakeInternalKey(RandomUserKey(&rnd, key_space + 5), rnd.Range(0, 51),
                             static_cast<ValueType>(rnd.Uniform(3)));
    });
    if (HasFatalFailure()) return;
  }
}

TEST(MergingIterator, ChildErrorsStopIterationAndAreReported) {
  ModelEntries a, b;
  for (int i = 0; i < 10; i++) {
    a.emplace_back(MakeInternalKey("a" + std::to_string(i), 1, kTypeValue), "va");
    b.emplace_back(MakeInternalKey("b" + std::to_string(i), 1, kTypeValue), "vb");
  }
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(std::make_unique<VectorIterator>(a));
  children.push_back(std::make_unique<VectorIterator>(b, /*fail_after=*/3));
  auto merged = NewMergingIterator(std::move(children));
  merged->SeekToFirst();
  int steps = 0;
  while (merged->Valid()) {
    merged->Next();
    steps++;
    ASSERT_LT(steps, 100);
  }
  EXPECT_TRUE(merged->status().IsIOError()) << merged->status().ToString();
  // The "a" keys come first (10 steps), then the failing child moves 3 times and fails on its
  // 4th move.
  EXPECT_EQ(steps, 14);
  // A later seek still sees the failed child and reports it rather than partial data.
  merged->SeekToFirst();
  EXPECT_FALSE(merged->Valid());
  EXPECT_TRUE(merged->status().IsIOError());
}

TEST(MergingIterator, ErrorDuringDirectionChange) {
  ModelEntries a, b;
  for (int i = 0; i < 5; i++) {
    a.emplace_back(MakeInternalKey("k" + std::to_string(2 * i), 1, kTypeValue), "a");
    b.emplace_back(MakeInternalKey("k" + std::to_string(2 * i + 1), 1, kTypeValue), "b");
  }
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(std::make_unique<VectorIterator>(a));
  children.push_back(std::make_unique<VectorIterator>(b, /*fail_after=*/0));
  auto merged = NewMergingIterator(std::move(children));
  merged->Seek(MakeInternalKey("k4", kMaxSequenceNumber, kValueTypeForSeek));
  ASSERT_TRUE(merged->Valid());
  EXPECT_EQ(ExtractUserKey(merged->key()), "k4");
  merged->Next();  // moves child a only
  ASSERT_TRUE(merged->Valid());
  EXPECT_EQ(ExtractUserKey(merged->key()), "k5");
  merged->Prev();  // child a re-seeks; b's Prev is its first move: fails
  EXPECT_FALSE(merged->Valid());
  EXPECT_TRUE(merged->status().IsIOError());
}

TEST(MergingIterator, ZeroAndOneChild) {
  auto none = NewMergingIterator({});
  none->SeekToFirst();
  EXPECT_FALSE(none->Valid());
  none->SeekToLast();
  EXPECT_FALSE(none->Valid());
  none->Seek(MakeInternalKey("a", 1, kTypeValue));
  EXPECT_FALSE(none->Valid());
  EXPECT_TRUE(none->status().ok());

  std::vector<std::unique_ptr<Iterator>> one;
  one.push_back(
      std::make_unique<VectorIterator>(ModelEntries{{MakeInternalKey("a", 1, kTypeValue), "1"}}));
  auto single = NewMergingIterator(std::move(one));
  single->SeekToFirst();
  ASSERT_TRUE(single->Valid());
  EXPECT_EQ(single->value(), "1");
}

}  // namespace
}  // namespace cloudkv
