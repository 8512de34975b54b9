// SPDX-License-Identifier: Apache-2.0
#include "generators.h"

#include <cassert>
#include <cmath>

namespace cloudkv::bench {

void FormatKey(uint64_t n, size_t key_size, std::string* out) {
  out->assign(key_size, '0');
  for (size_t i = key_size; i > 0 && n > 0; i--) {
    (*out)[i - 1] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
}

ValueSource::ValueSource(uint64_t seed) {
  // Each 100-byte piece is 50 random printable bytes written twice: compressors find the
  // repeat, so the data compresses to about 50%, like db_bench's default.
  constexpr size_t kBufferBytes = 1 << 20;
  Random rnd(seed);
  data_.reserve(kBufferBytes + 100);
  while (data_.size() < kBufferBytes) {
    std::string piece = rnd.Printable(50);
    data_ += piece;
    data_ += piece;
  }
}

std::string_view ValueSource::Value(size_t size, Random& rnd) const {
  assert(size <= 64 * 1024);
  uint64_t start = rnd.Uniform(data_.size() - size);
  return std::string_view(data_).substr(start, size);
}

namespace {
double Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; i++) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

uint64_t Fnv1a64(uint64_t v) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (int i = 0; i < 8; i++) {
    hash ^= v & 0xff;
    hash *= 0x100000001b3ull;
    v >>= 8;
  }
  return hash;
}
}  // namespace

ZipfianGenerator::ZipfianGenerator(uint64_t items, double theta) : items_(items), theta_(theta) {
  assert(items > 0);
  alpha_ = 1.0 / (1.0 - theta_);
  zetan_ = Zeta(items_, theta_);
  double zeta2 = Zeta(2, theta_);
  eta_ = (1 - std::pow(2.0 / static_cast<double>(items_), 1 - theta_)) / (1 - zeta2 / zetan_);
}

uint64_t ZipfianGenerator::Next(Random& rnd) const {
  double u = rnd.NextDouble();
  double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return items_ > 1 ? 1 : 0;
  auto v =
      static_cast<uint64_t>(static_cast<double>(items_) * std::pow(eta_ * u - eta_ + 1, alpha_));
  return v < items_ ? v : items_ - 1;
}

uint64_t ZipfianGenerator::NextScrambled(Random& rnd) const { return Fnv1a64(Next(rnd)) % items_; }

}  // namespace cloudkv::bench
