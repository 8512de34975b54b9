// SPDX-License-Identifier: Apache-2.0
// Checksums and hashes: XXH3 (xxhash) for every block and object checksum.
#ifndef CLOUDKV_UTIL_HASH_H_
#define CLOUDKV_UTIL_HASH_H_

#include <cstdint>
#include <string_view>

namespace cloudkv {

// 64-bit XXH3 of the bytes.
uint64_t Checksum64(std::string_view data);
// 64-bit XXH3 of the bytes continuing from an earlier value.
uint64_t Checksum64(std::string_view data, uint64_t seed);
// A 32-bit checksum (low half of XXH3-64), for per-block trailers.
inline uint32_t Checksum32(std::string_view data) {
  return static_cast<uint32_t>(Checksum64(data));
}
// Hash for bloom filters and sharding (XXH3 with a fixed seed).
uint64_t Hash64(std::string_view data);

}  // namespace cloudkv

#endif  // CLOUDKV_UTIL_HASH_H_
