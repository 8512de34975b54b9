// SPDX-License-Identifier: Apache-2.0
// Cache-line-blocked Bloom filter; the grammar is in bloom.h.
//
// From a key's 64-bit hash h: line = (high32(h) * num_lines) >> 32 (a multiply-shift range
// reduction), and probe i sets bit ((a + i * b) >> 23) of the 512-bit line, where a = low32(h)
// and b = high32(h) * 0x9e3779b9 | 1 (double hashing in 32-bit arithmetic, taking the top 9
// bits). Keys that share a line use nearly independent probe sequences because b mixes all of
// high32(h) while the line depends only on its top bits.
#include "format/bloom.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "util/coding.h"
#include "util/hash.h"

namespace cloudkv {
namespace {

constexpr uint8_t kFilterKindBlockedBloom = 1;
constexpr size_t kLineBytes = 64;
constexpr size_t kFilterTrailerSize = 6;
// Limit on untrusted filter sizes: 4 GiB of lines.
constexpr uint32_t kMaxLines = UINT32_MAX / kLineBytes;

inline uint32_t LineOf(uint64_t hash, uint32_t num_lines) {
  return static_cast<uint32_t>(((hash >> 32) * static_cast<uint64_t>(num_lines)) >> 32);
}

inline uint32_t ProbeStep(uint64_t hash) {
  return (static_cast<uint32_t>(hash >> 32) * 0x9e3779b9u) | 1u;
}

}  // namespace

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key) : bits_per_key_(bits_per_key) {
  assert(bits_per_key >= 1 && bits_per_key <= 100);
}

void BloomFilterBuilder::AddKey(std::string_view user_key) {
  const uint64_t h = Hash64(user_key);
  if (!hashes_.empty() && hashes_.back() == h) return;
  hashes_.push_back(h);
}

static uint32_t NumLines(size_t num_keys, int bits_per_key) {
  if (num_keys == 0) return 0;
  const uint64_t bits = static_cast<uint64_t>(num_keys) * bits_per_key;
  return static_cast<uint32_t>(
      std::min<uint64_t>(kMaxLines, std::max<uint64_t>(1, (bits + 511) / 512)));
}

size_t BloomFilterBuilder::EstimatedSize() const {
  return NumLines(hashes_.size(), bits_per_key_) * kLineBytes + kFilterTrailerSize;
}

std::string BloomFilterBuilder::Finish() {
  const uint32_t num_lines = NumLines(hashes_.size(), bits_per_key_);
  // Blocked filters lose a little to uneven line loads; one probe fewer than ln(2) * bits
  // per key measured best (about 1% false positives at 10 bits per key).
  const int num_probes = std::clamp(static_cast<int>(std::lround(bits_per_key_ * 0.69)) - 1, 1, 30);
  std::string out(num_lines * kLineBytes, '\0');
  for (uint64_t h : hashes_) {
    char* line = out.data() + LineOf(h, num_lines) * kLineBytes;
    uint32_t a = static_cast<uint32_t>(h);
    const uint32_t b = ProbeStep(h);
    for (int i = 0; i < num_probes; i++) {
      const uint32_t bit = a >> 23;
      line[bit >> 3] = static_cast<char>(line[bit >> 3] | (1 << (bit & 7)));
      a += b;
    }
  }
  out.push_back(static_cast<char>(num_probes));
  out.push_back(static_cast<char>(kFilterKindBlockedBloom));
  PutFixed32(&out, num_lines);
  hashes_.clear();
  return out;
}

Result<std::unique_ptr<BloomFilterReader>> BloomFilterReader::Create(std::string_view filter) {
  if (filter.size() < kFilterTrailerSize) return Status::Corruption("filter block truncated");
  const char* trailer = filter.data() + filter.size() - kFilterTrailerSize;
  const int num_probes = static_cast<uint8_t>(trailer[0]);
  const uint8_t kind = static_cast<uint8_t>(trailer[1]);
  const uint32_t num_lines = DecodeFixed32(trailer + 2);
  if (kind != kFilterKindBlockedBloom) {
    return Status::Corruption("unknown filter kind " + std::to_string(kind));
  }
  if (num_probes < 1 || num_probes > 30 || num_lines > kMaxLines ||
      static_cast<uint64_t>(num_lines) * kLineBytes != filter.size() - kFilterTrailerSize) {
    return Status::Corruption("filter block sizes do not match");
  }
  std::unique_ptr<BloomFilterReader> reader(new BloomFilterReader());
  const size_t bytes = num_lines * kLineBytes;
  reader->storage_.resize(bytes + kLineBytes);
  const auto base = reinterpret_cast<uintptr_t>(reader->storage_.data());
  char* aligned = reader->storage_.data() + ((kLineBytes - base % kLineBytes) % kLineBytes);
  if (bytes > 0) std::memcpy(aligned, filter.data(), bytes);
  reader->lines_ = aligned;
  reader->num_lines_ = num_lines;
  reader->num_probes_ = num_probes;
  return reader;
}

bool BloomFilterReader::MayContain(std::string_view user_key) const {
  return MayContainHash(Hash64(user_key));
}

bool BloomFilterReader::MayContainHash(uint64_t h) const {
  if (num_lines_ == 0) return false;  // a filter over no keys
  const char* line = lines_ + LineOf(h, num_lines_) * kLineBytes;
  uint32_t a = static_cast<uint32_t>(h);
  const uint32_t b = ProbeStep(h);
  for (int i = 0; i < num_probes_; i++) {
    const uint32_t bit = a >> 23;
    if ((line[bit >> 3] & (1 << (bit & 7))) == 0) return false;
    a += b;
  }
  return true;
}

}  // namespace cloudkv
