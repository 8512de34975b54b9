// SPDX-License-Identifier: Apache-2.0
// Seeded pseudo-random numbers (xoshiro256**). Deterministic for a seed, so a failing
// randomized test can be replayed. Tests create one with TestRandom(), which prints the seed and
// honours CLOUDKV_SEED.
//
// Thread-safety: not thread-safe; give each thread its own.
#ifndef CLOUDKV_UTIL_RANDOM_H_
#define CLOUDKV_UTIL_RANDOM_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace cloudkv {

class Random {
 public:
  explicit Random(uint64_t seed);

  uint64_t seed() const { return seed_; }
  uint64_t Next64();
  uint32_t Next32() { return static_cast<uint32_t>(Next64() >> 32); }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi) { return lo + Uniform(hi - lo + 1); }
  // True with probability p.
  bool Bernoulli(double p);
  // Uniform in [0, 1).
  double NextDouble();
  // True with probability 1/n.
  bool OneIn(uint64_t n) { return Uniform(n) == 0; }
  // n random bytes.
  std::string Bytes(size_t n);
  // n random printable ASCII characters.
  std::string Printable(size_t n);

 private:
  uint64_t seed_;
  uint64_t s_[4];
};

// A seed from CLOUDKV_SEED if set, else from the time; prints "<name>: seed=<seed>" to stderr
// so any run can be repeated with CLOUDKV_SEED=<seed>.
uint64_t TestSeed(std::string_view name);

// A seed from the environment, the time and a counter, for production randomness (nonces).
uint64_t RandomSeed();

}  // namespace cloudkv

#endif  // CLOUDKV_UTIL_RANDOM_H_
