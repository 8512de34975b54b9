// SPDX-License-Identifier: Apache-2.0
// LatencyHistogram: HdrHistogram-like log-linear buckets over nanoseconds.
//
// Values below 128 ns get a bucket each; above that every power of two is split into 64
// buckets, so a reported percentile is within 1/64 (1.6%) of the true value. Min, max, count
// and sum are exact. Each worker thread records into its own histogram; Merge combines them.
//
// Thread-safety: none; one histogram per thread.
#ifndef CLOUDKV_BENCH_HISTOGRAM_H_
#define CLOUDKV_BENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace cloudkv::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;                           // 64 per power of two
  static constexpr int kLinearLimit = 2 << kSubBucketBits;           // 128 exact buckets
  static constexpr int kBuckets = 64 * (64 - kSubBucketBits) + 128;  // covers all of uint64

  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t min_nanos() const { return count_ == 0 ? 0 : min_; }
  uint64_t max_nanos() const { return max_; }
  double mean_nanos() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }
  // The value at percentile p (0 < p <= 100): the midpoint of the bucket holding it, clamped
  // to [min, max]. 0 when empty.
  uint64_t Percentile(double p) const;

  // Bucket index for a value and the value range a bucket covers (exposed for tests).
  static int BucketFor(uint64_t nanos);
  static uint64_t BucketLow(int bucket);
  static uint64_t BucketHigh(int bucket);

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace cloudkv::bench

#endif  // CLOUDKV_BENCH_HISTOGRAM_H_
