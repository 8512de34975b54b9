// SPDX-License-Identifier: Apache-2.0
#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace cloudkv::bench {

// Index layout: v < 128 -> v. Otherwise with msb = floor(log2 v) >= 7 and shift = msb - 6,
// the top 7 bits m = v >> shift lie in [64, 128) and the index is 64 * shift + m, which
// continues exactly where the linear range ends (shift 1 starts at 128).
int LatencyHistogram::BucketFor(uint64_t v) {
  if (v < static_cast<uint64_t>(kLinearLimit)) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBucketBits;
  int index = 64 * shift + static_cast<int>(v >> shift);
  assert(index >= kLinearLimit && index < kBuckets);
  return index;
}

uint64_t LatencyHistogram::BucketLow(int bucket) {
  assert(bucket >= 0 && bucket < kBuckets);
  if (bucket < kLinearLimit) return static_cast<uint64_t>(bucket);
  int shift = bucket / 64 - 1;
  uint64_t m = static_cast<uint64_t>(bucket % 64 + 64);
  return m << shift;
}

uint64_t LatencyHistogram::BucketHigh(int bucket) {
  if (bucket < kLinearLimit) return static_cast<uint64_t>(bucket);
  int shift = bucket / 64 - 1;
  uint64_t m = static_cast<uint64_t>(bucket % 64 + 64);
  return ((m + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t nanos) {
  buckets_[BucketFor(nanos)]++;
  count_++;
  sum_ += nanos;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; i++) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::Clear() { *this = LatencyHistogram(); }

uint64_t LatencyHistogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  assert(p > 0 && p <= 100);
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; i++) {
    seen += buckets_[i];
    if (seen >= rank) {
      uint64_t mid = BucketLow(i) + (BucketHigh(i) - BucketLow(i)) / 2;
      return std::clamp(mid, min_nanos(), max_);
    }
  }
  return max_;
}

}  // namespace cloudkv::bench
