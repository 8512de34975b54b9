// SPDX-License-Identifier: Apache-2.0
#include "util/hash.h"

#include <xxhash.h>

namespace cloudkv {

uint64_t Checksum64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

uint64_t Checksum64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

uint64_t Hash64(std::string_view data) {
  return XXH3_64bits_withSeed(data.data(), data.size(), 0x636c6f75646b76ull);
}

}  // namespace cloudkv
