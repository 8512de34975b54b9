// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a stored SST block, its trailer and its compression (DecodeStoredBlock in
// format/sst_format.h). The first input byte chooses whether the target first fixes the
// trailer's checksum, so that the decompressors are reached, not only the checksum check.
// Whatever decodes is compressed again with each compression type and must decode to the
// same bytes.
#include <string>

#include "format/sst_format.h"
#include "fuzz/fuzz_check.h"
#include "util/coding.h"
#include "util/hash.h"

using namespace cloudkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string stored(fuzz::AsView(data + 1, size - 1));
  if ((data[0] & 1) != 0 && stored.size() >= kBlockTrailerSize) {
    const size_t n = stored.size() - kBlockTrailerSize;
    EncodeFixed32(stored.data() + n + 1, Checksum32(std::string_view(stored).substr(0, n + 1)));
  }
  auto raw = DecodeStoredBlock(stored);
  if (!raw.ok()) {
    FUZZ_CHECK(raw.status().IsCorruption() || raw.status().IsIOError());
    return 0;
  }
  FUZZ_CHECK(raw->size() <= kMaxBlockBytes);
  std::string scratch;
  for (Compression type : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    std::string again;
    AppendCompressedBlock(*raw, type, &scratch, &again);
    auto decoded = DecodeStoredBlock(again);
    FUZZ_CHECK(decoded.ok() && *decoded == *raw);
  }
  return 0;
}
