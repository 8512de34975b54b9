// SPDX-License-Identifier: Apache-2.0
#include "util/random.h"

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace cloudkv {
namespace {

uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Random::Random(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = SplitMix64(&x);
}

uint64_t Random::Next64() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Random::Uniform(uint64_t n) {
  assert(n > 0);
  // Lemire's multiply-shift; the bias is negligible for test purposes.
  return static_cast<uint64_t>((static_cast<unsigned __int128>(Next64()) * n) >> 64);
}

double Random::NextDouble() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }

bool Random::Bernoulli(double p) { return NextDouble() < p; }

std::string Random::Bytes(size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(Next64());
  return out;
}

std::string Random::Printable(size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(' ' + Uniform(95));
  return out;
}

uint64_t RandomSeed() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  x ^= static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  x += counter.fetch_add(1) * 0x9e3779b97f4a7c15ull;
  return SplitMix64(&x);
}

uint64_t TestSeed(std::string_view name) {
  uint64_t seed;
  const char* env = std::getenv("CLOUDKV_SEED");
  if (env != nullptr && *env != '\0') {
    seed = std::strtoull(env, nullptr, 0);
  } else {
    seed = RandomSeed() % 1000000007ull;
  }
  std::fprintf(stderr, "%.*s: seed=%llu (repeat with CLOUDKV_SEED=%llu)\n",
               static_cast<int>(name.size()), name.data(), static_cast<unsigned long long>(seed),
               static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace cloudkv
