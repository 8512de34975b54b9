// SPDX-License-Identifier: Apache-2.0
// FragmentedRangeTombstoneList: exact fragments of known inputs, coverage at every snapshot
// against a brute-force model of random overlapping tombstones, and the compaction helpers
// (snapshot stripes, clipping to an output's range, bottommost dropping).
#include "db/range_tombstone.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "util/random.h"

namespace cloudkv {
namespace {

struct ExpectedFragment {
  std::string begin, end;
  std::vector<SequenceNumber> seqs;
};

void ExpectFragments(const FragmentedRangeTombstoneList& list,
                     const std::vector<ExpectedFragment>& want) {
  ASSERT_EQ(list.num_fragments(), want.size());
  for (size_t i = 0; i < want.size(); i++) {
    auto f = list.fragment(i);
    EXPECT_EQ(f.begin, want[i].begin) << i;
    EXPECT_EQ(f.end, want[i].end) << i;
    EXPECT_EQ(std::vector<SequenceNumber>(f.seqs.begin(), f.seqs.end()), want[i].seqs) << i;
  }
}

TEST(RangeTombstone, EmptyInputsCoverNothing) {
  FragmentedRangeTombstoneList none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.MaxCoveringSeq("a", kMaxSequenceNumber), 0u);
  EXPECT_EQ(none.FindFragment("a"), 0u);
  std::vector<RangeTombstone> empty_ranges = {{"b", "b", 5}, {"d", "c", 6}};
  FragmentedRangeTombstoneList list(empty_ranges);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.MaxCoveringSeq("b", 10), 0u);
  EXPECT_EQ(MaxCoveringSeq(std::vector<RangeTombstoneListPtr>{nullptr}, "b", 10), 0u);
}

TEST(RangeTombstone, OverlapsAreSplitIntoFragments) {
  // The RocksDB wiki's example: [c,d)@4, [g,h)@7, [a,z)@10, plus a duplicate and a nested one.
  std::vector<RangeTombstone> in = {
      {"c", "d", 4}, {"g", "h", 7}, {"a", "z", 10}, {"c", "d", 4}, {"f", "i", 2}};
  FragmentedRangeTombstoneList list(in);
  ExpectFragments(list, {{"a", "c", {10}},
                         {"c", "d", {10, 4}},
                         {"d", "f", {10}},
                         {"f", "g", {10, 2}},
                         {"g", "h", {10, 7, 2}},
                         {"h", "i", {10, 2}},
                         {"i", "z", {10}}});
  EXPECT_EQ(list.MaxCoveringSeq("e", 20), 10u);
  EXPECT_EQ(list.MaxCoveringSeq("e", 9), 0u);
  EXPECT_EQ(list.MaxCoveringSeq("g", 9), 7u);
  EXPECT_EQ(list.MaxCoveringSeq("g", 6), 2u);
  EXPECT_EQ(list.MaxCoveringSeq("g", 1), 0u);
  EXPECT_EQ(list.MaxCoveringSeq("z", 20), 0u);  // end is exclusive
  EXPECT_EQ(list.MaxCoveringSeq("", 20), 0u);
  EXPECT_EQ(list.MaxCoveringSeq("a", 20), 10u);  // begin is inclusive
  EXPECT_TRUE(list.Covers("g", 6, 7));
  EXPECT_FALSE(list.Covers("g", 7, 9));  // same sequence: not newer
  EXPECT_FALSE(list.Covers("g", 3, 6));  // only @2 is visible at 6
  EXPECT_TRUE(list.Covers("g", 1, 6));
}

TEST(RangeTombstone, AdjacentEqualCoverageIsMergedAndGapsStayOpen) {
  std::vector<RangeTombstone> in = {{"a", "c", 5}, {"c", "e", 5}, {"g", "h", 5}};
  FragmentedRangeTombstoneList list(in);
  ExpectFragments(list, {{"a", "e", {5}}, {"g", "h", {5}}});
  EXPECT_EQ(list.MaxCoveringSeq("f", 9), 0u);
  EXPECT_EQ(list.FindFragment("f"), list.num_fragments());
  EXPECT_EQ(list.FindFragment("d"), 0u);
}

// Random overlapping tombstones over a small alphabet (with keys that are prefixes of each
// other): MaxCoveringSeq equals the brute-force answer for every key and snapshot.
TEST(RangeTombstone, MaxCoveringSeqMatchesBruteForce) {
  Random rnd(TestSeed("RangeTombstone.MaxCoveringSeqMatchesBruteForce"));
  auto random_key = [&] {
    std::string k;
    const int n = static_cast<int>(rnd.Uniform(3));
    for (int i = 0; i < n; i++) k.push_back(static_cast<char>('a' + rnd.Uniform(4)));
    return k;
  };
  for (int trial = 0; trial < 300; trial++) {
    std::vector<RangeTombstone> in;
    const int n = static_cast<int>(rnd.Uniform(trial < 50 ? 4 : 25));
    for (int i = 0; i < n; i++) in.push_back({random_key(), random_key(), rnd.Range(1, 30)});
    FragmentedRangeTombstoneList list(in);
    // Fragments are sorted, non-overlapping, non-empty, with strictly descending sequences.
    for (size_t i = 0; i < list.num_fragments(); i++) {
      auto f = list.fragment(i);
      ASSERT_LT(f.begin, f.end);
      if (i > 0) {
        ASSERT_LE(list.fragment(i - 1).end, f.begin);
      }
      ASSERT_FALSE(f.seqs.empty());
      ASSERT_TRUE(std::is_sorted(f.seqs.begin(), f.seqs.end(), std::greater_equal<>()));
      ASSERT_EQ(std::adjacent_find(f.seqs.begin(), f.seqs.end()), f.seqs.end());
    }
    for (int probe = 0; probe < 60; probe++) {
      std::string key = random_key();
      SequenceNumber snapshot = rnd.Range(0, 32);
      SequenceNumber want = 0;
      for (const auto& t : in) {
        if (t.begin <= key && key < t.end && t.seq <= snapshot) want = std::max(want, t.seq);
      }
      ASSERT_EQ(list.MaxCoveringSeq(key, snapshot), want)
          << "trial " << trial << " key '" << key << "' snapshot " << snapshot;
    }
  }
}

TEST(RangeTombstone, CoveredInSameStripe) {
  std::vector<RangeTombstone> in = {{"a", "m", 10}, {"a", "m", 30}};
  FragmentedRangeTombstoneList list(in);
  const std::vector<SequenceNumber> no_snapshots;
  EXPECT_TRUE(list.CoveredInSameStripe("b", 5, no_snapshots));
  EXPECT_FALSE(list.CoveredInSameStripe("b", 30, no_snapshots));  // not older
  EXPECT_FALSE(list.CoveredInSameStripe("n", 5, no_snapshots));   // outside the range
  // A snapshot at 7 sees the entry @5 and not the tombstones: the entry must stay.
  const std::vector<SequenceNumber> at7 = {7};
  EXPECT_FALSE(list.CoveredInSameStripe("b", 5, at7));
  // A snapshot at 20: the entry @15 is covered by @30 only, in the next stripe.
  const std::vector<SequenceNumber> at20 = {20};
  EXPECT_FALSE(list.CoveredInSameStripe("b", 15, at20));
  EXPECT_TRUE(list.CoveredInSameStripe("b", 5, at20));  // @10 is in (0, 20] too
  EXPECT_TRUE(list.CoveredInSameStripe("b", 25, at20));
}

TEST(RangeTombstone, TombstonesForOutputClipsAndKeepsOnePerStripe) {
  std::vector<RangeTombstone> in = {{"a", "m", 10}, {"c", "f", 12}, {"c", "f", 30}};
  FragmentedRangeTombstoneList list(in);
  // No snapshots: only the newest of each fragment matters.
  auto out = list.TombstonesForOutput({}, /*bottommost=*/false, std::nullopt, std::nullopt);
  std::vector<RangeTombstone> want = {{"a", "c", 10}, {"c", "f", 30}, {"f", "m", 10}};
  EXPECT_EQ(out, want);
  // Snapshot at 11 separates @10 from @12 and @30; @12 and @30 share the newest stripe.
  const std::vector<SequenceNumber> at11 = {11};
  out = list.TombstonesForOutput(at11, false, std::string("b"), std::string("d"));
  want = {{"b", "c", 10}, {"c", "d", 30}, {"c", "d", 10}};
  EXPECT_EQ(out, want);
  // Bottommost: the oldest stripe's tombstones go; with no snapshots, all of them.
  out = list.TombstonesForOutput(at11, true, std::nullopt, std::nullopt);
  want = {{"c", "f", 30}};
  EXPECT_EQ(out, want);
  EXPECT_TRUE(list.TombstonesForOutput({}, true, std::nullopt, std::nullopt).empty());
  // A range holding none of the tombstones.
  EXPECT_TRUE(list.TombstonesForOutput({}, false, std::string("m"), std::nullopt).empty());
  // Re-fragmenting an output gives the same coverage at every snapshot >= 11 inside [b, d).
  out = list.TombstonesForOutput(at11, false, std::string("b"), std::string("d"));
  FragmentedRangeTombstoneList again(out);
  for (const char* key : {"b", "c", "cz"}) {
    for (SequenceNumber snap : {11u, 12u, 29u, 30u, 40u}) {
      EXPECT_EQ(again.MaxCoveringSeq(key, snap) > 0, list.MaxCoveringSeq(key, snap) > 0)
          << key << " @" << snap;
    }
  }
}

}  // namespace
}  // namespace cloudkv
