// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the SST filter block (format/bloom.h). BloomFilterReader::Create must accept
// or reject the bytes with Corruption, and queries on an accepted filter must not read out of
// bounds. A filter built from keys taken from the input must contain every one of them.
#include <string>
#include <vector>

#include "format/bloom.h"
#include "fuzz/fuzz_check.h"

using namespace cloudkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsView(data, size);
  auto reader = BloomFilterReader::Create(in);
  if (!reader.ok()) {
    FUZZ_CHECK(reader.status().IsCorruption());
  } else {
    for (size_t i = 0; i + 4 <= in.size() && i < 256; i += 4) {
      (void)(*reader)->MayContain(in.substr(i, 4));
    }
  }
  // Keys: the input cut into pieces of 1..8 bytes.
  std::vector<std::string_view> keys;
  for (size_t i = 0; i < in.size() && keys.size() < 512;) {
    const size_t n = 1 + static_cast<uint8_t>(in[i]) % 8;
    keys.push_back(in.substr(i, n));
    i += n;
  }
  BloomFilterBuilder builder(1 + static_cast<int>(size % 20));
  for (std::string_view key : keys) builder.AddKey(key);
  std::string filter = builder.Finish();
  auto built = BloomFilterReader::Create(filter);
  FUZZ_CHECK(built.ok());
  for (std::string_view key : keys) FUZZ_CHECK((*built)->MayContain(key));
  return 0;
}
