// SPDX-License-Identifier: Apache-2.0
// Keys, values and key choosers for the workloads.
//
// Keys are db_bench style: the key number as zero-padded decimal, exactly key_size bytes (16 by
// default). Values come from a pregenerated buffer that compresses to about half its size, as
// db_bench's (--compression_ratio 0.5). The YCSB choosers follow the YCSB core generators
// (scrambled zipfian with theta 0.99, "latest" for workload D, uniform).
//
// Thread-safety: KeyFormat, ValueSource and ZipfianGenerator are immutable after construction
// and shared by all threads; each thread passes its own Random.
#ifndef CLOUDKV_BENCH_GENERATORS_H_
#define CLOUDKV_BENCH_GENERATORS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/random.h"

namespace cloudkv::bench {

// Writes key number `n` into `out` as `key_size` zero-padded decimal digits. Numbers with more
// digits than key_size keep their low digits (key_size >= 8 is enforced by the flags, so that
// takes more than 10^8 keys).
void FormatKey(uint64_t n, size_t key_size, std::string* out);

// A 1 MiB buffer of half-compressible bytes; Value() hands out slices of it.
class ValueSource {
 public:
  explicit ValueSource(uint64_t seed);
  // A value of `size` bytes starting at a position chosen by `rnd`. REQUIRES: size <= 64 KiB.
  std::string_view Value(size_t size, Random& rnd) const;

 private:
  std::string data_;
};

// Zipfian over [0, items) with YCSB's constant 0.99. Value 0 is the most popular. Construction
// costs O(items) to compute zeta (about 10 ms per million items).
class ZipfianGenerator {
 public:
  explicit ZipfianGenerator(uint64_t items, double theta = 0.99);
  uint64_t Next(Random& rnd) const;
  // Zipfian with the popular items spread over the key space (FNV-1a of the rank), as YCSB's
  // ScrambledZipfianGenerator.
  uint64_t NextScrambled(Random& rnd) const;
  uint64_t items() const { return items_; }

 private:
  uint64_t items_;
  double theta_;
  double alpha_;
  double zetan_;
  double eta_;
};

}  // namespace cloudkv::bench

#endif  // CLOUDKV_BENCH_GENERATORS_H_
