// SPDX-License-Identifier: Apache-2.0
// Bloom filter over user keys (docs/format-sst.md, "Filter block").
//
// A cache-line-blocked Bloom filter: each key hashes (XXH3, util/hash.h Hash64) to one 64-byte
// line and sets `num_probes` bits inside it chosen by double hashing, so a query touches one
// cache line. At 10 bits per key the measured false-positive rate is about 1%
// (tests/bloom_test.cc).
//
//   filter := line[num_lines] (64 bytes each) num_probes:uint8 kind:uint8(=1) num_lines:fixed32
//
// Thread-safety: the builder is not thread-safe; a BloomFilterReader is immutable after Create
// and may be queried from any number of threads.
#ifndef CLOUDKV_FORMAT_BLOOM_H_
#define CLOUDKV_FORMAT_BLOOM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv {

class BloomFilterBuilder {
 public:
  // REQUIRES: 1 <= bits_per_key <= 100.
  explicit BloomFilterBuilder(int bits_per_key);

  // Adds a user key. Adding the same key twice in a row counts it once (an SST adds every
  // version of a key in sequence).
  void AddKey(std::string_view user_key);
  size_t num_keys() const { return hashes_.size(); }
  // Bytes Finish() will return for the keys added so far.
  size_t EstimatedSize() const;
  // Builds the filter over every key added.
  std::string Finish();

 private:
  const int bits_per_key_;
  std::vector<uint64_t> hashes_;
};

class BloomFilterReader {
 public:
  // Copies and validates an encoded filter. Corruption if its size does not match its counts.
  static Result<std::unique_ptr<BloomFilterReader>> Create(std::string_view filter);

  // False only if the key was certainly not added.
  bool MayContain(std::string_view user_key) const;
  bool MayContainHash(uint64_t hash) const;
  size_t memory_bytes() const { return storage_.capacity(); }

 private:
  BloomFilterReader() = default;
  std::string storage_;          // holds the lines, with slack for 64-byte alignment
  const char* lines_ = nullptr;  // 64-byte aligned, num_lines_ * 64 bytes
  uint32_t num_lines_ = 0;
  int num_probes_ = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_BLOOM_H_
