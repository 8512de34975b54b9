// SPDX-License-Identifier: Apache-2.0
// Unit tests of cloudkv-bench's own parts: the latency histogram and the key generators.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "generators.h"
#include "histogram.h"
#include "util/random.h"

namespace cloudkv::bench {
namespace {

TEST(LatencyHistogram, BucketsAreContiguousAndContainTheirValues) {
  for (int b = 0; b + 1 < LatencyHistogram::kBuckets; b++) {
    ASSERT_LE(LatencyHistogram::BucketLow(b), LatencyHistogram::BucketHigh(b)) << b;
    ASSERT_EQ(LatencyHistogram::BucketHigh(b) + 1, LatencyHistogram::BucketLow(b + 1)) << b;
  }
  EXPECT_EQ(LatencyHistogram::BucketHigh(LatencyHistogram::kBuckets - 1), UINT64_MAX);
  Random rnd(TestSeed("LatencyHistogram.Buckets"));
  for (int i = 0; i < 100000; i++) {
    uint64_t v = rnd.Next64() >> rnd.Uniform(64);
    int b = LatencyHistogram::BucketFor(v);
    ASSERT_LE(LatencyHistogram::BucketLow(b), v);
    ASSERT_GE(LatencyHistogram::BucketHigh(b), v);
  }
}

TEST(LatencyHistogram, PercentilesWithinBucketPrecision) {
  Random rnd(TestSeed("LatencyHistogram.Percentiles"));
  std::vector<uint64_t> values;
  LatencyHistogram a, b;
  for (int i = 0; i < 50000; i++) {
    // Log-uniform from 100 ns to ~100 ms, like real latencies.
    uint64_t v = 100 + (rnd.Next64() >> (64 - 10 - rnd.Uniform(17)));
    values.push_back(v);
    (i % 2 ? a : b).Record(v);
  }
  a.Merge(b);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(a.count(), values.size());
  EXPECT_EQ(a.min_nanos(), values.front());
  EXPECT_EQ(a.max_nanos(), values.back());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100 * values.size()));
    double exact = static_cast<double>(values[std::max<size_t>(rank, 1) - 1]);
    double got = static_cast<double>(a.Percentile(p));
    EXPECT_NEAR(got, exact, exact / 64 + 1) << "p" << p;
  }
}

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(99), 0u);
  EXPECT_EQ(h.max_nanos(), 0u);
  EXPECT_EQ(h.min_nanos(), 0u);
}

TEST(Generators, KeysAreFixedWidthAndOrdered) {
  std::string a, b;
  FormatKey(42, 16, &a);
  EXPECT_EQ(a, "0000000000000042");
  FormatKey(1000, 16, &b);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_LT(a, b);
}

TEST(Generators, ZipfianStaysInRangeAndIsSkewed) {
  Random rnd(TestSeed("Generators.Zipfian"));
  ZipfianGenerator zipf(10000);
  std::vector<int> counts(10000);
  std::set<uint64_t> scrambled;
  for (int i = 0; i < 200000; i++) {
    uint64_t v = zipf.Next(rnd);
    ASSERT_LT(v, 10000u);
    counts[v]++;
    uint64_t s = zipf.NextScrambled(rnd);
    ASSERT_LT(s, 10000u);
    scrambled.insert(s);
  }
  // Rank 0 is the most popular and far above the uniform share of 20.
  EXPECT_GT(counts[0], counts[100]);
  EXPECT_GT(counts[0], 2000);
  EXPECT_GT(scrambled.size(), 1000u);
}

TEST(Generators, ValuesHaveTheAskedSize) {
  Random rnd(TestSeed("Generators.Values"));
  ValueSource values(7);
  for (size_t size : {0, 1, 100, 4096}) EXPECT_EQ(values.Value(size, rnd).size(), size);
}

}  // namespace
}  // namespace cloudkv::bench
