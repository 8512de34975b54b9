// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the fixed parts of an SST (format/sst_format.h): the footer, the header, the
// properties block and index block handles. The first input byte picks the decoder; each
// decoded value is encoded again and must decode to the same fields.
#include <string>

#include "format/sst_format.h"
#include "fuzz/fuzz_check.h"

using namespace cloudkv;

namespace {

bool SameHandle(const BlockHandle& a, const BlockHandle& b) {
  return a.offset == b.offset && a.size == b.size;
}

bool SameProperties(const SstProperties& a, const SstProperties& b) {
  return a.num_entries == b.num_entries && a.num_deletions == b.num_deletions &&
         a.num_range_deletions == b.num_range_deletions && a.raw_key_bytes == b.raw_key_bytes &&
         a.raw_value_bytes == b.raw_value_bytes && a.data_bytes == b.data_bytes &&
         a.index_bytes == b.index_bytes && a.filter_bytes == b.filter_bytes &&
         a.smallest_key == b.smallest_key && a.largest_key == b.largest_key &&
         a.smallest_seq == b.smallest_seq && a.largest_seq == b.largest_seq &&
         a.create_time_micros == b.create_time_micros && a.epoch == b.epoch && a.nonce == b.nonce;
}

void FuzzFooter(std::string_view in) {
  if (in.size() < kSstFooterSize) return;
  std::string_view metadata = in.substr(kSstFooterSize);
  SstFooter footer;
  Status s = DecodeSstFooter(in.substr(0, kSstFooterSize), &footer);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption());
    return;
  }
  std::string encoded;
  EncodeSstFooter(footer, metadata, &encoded);
  FUZZ_CHECK(encoded.size() == kSstFooterSize);
  FUZZ_CHECK(VerifySstMetadata(metadata, encoded));
  SstFooter again;
  FUZZ_CHECK(DecodeSstFooter(encoded, &again).ok());
  FUZZ_CHECK(SameHandle(again.filter, footer.filter) &&
             SameHandle(again.properties, footer.properties) &&
             SameHandle(again.index, footer.index) && again.epoch == footer.epoch &&
             again.nonce == footer.nonce && again.header_checksum == footer.header_checksum &&
             again.format_version == footer.format_version);
}

void FuzzHeader(std::string_view in) {
  SstHeader header;
  Status s = DecodeSstHeader(in, &header);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption());
    return;
  }
  std::string encoded;
  EncodeSstHeader(header, &encoded);
  FUZZ_CHECK(encoded.size() == kSstHeaderSize);
  SstHeader again;
  FUZZ_CHECK(DecodeSstHeader(encoded, &again).ok());
  FUZZ_CHECK(again.format_version == header.format_version && again.epoch == header.epoch &&
             again.nonce == header.nonce);
}

void FuzzProperties(std::string_view in) {
  SstProperties props;
  Status s = DecodeSstProperties(in, &props);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption());
    return;
  }
  std::string encoded;
  EncodeSstProperties(props, &encoded);
  SstProperties again;
  FUZZ_CHECK(DecodeSstProperties(encoded, &again).ok());
  FUZZ_CHECK(SameProperties(props, again));
}

void FuzzHandles(std::string_view in) {
  while (!in.empty()) {
    BlockHandle handle;
    const size_t before = in.size();
    if (!DecodeBlockHandle(&in, &handle)) return;
    FUZZ_CHECK(in.size() < before);
    std::string encoded;
    EncodeBlockHandle(handle, &encoded);
    std::string_view view = encoded;
    BlockHandle again;
    FUZZ_CHECK(DecodeBlockHandle(&view, &again) && view.empty() && SameHandle(handle, again));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      FuzzFooter(in);
      break;
    case 1:
      FuzzHeader(in);
      break;
    case 2:
      FuzzProperties(in);
      break;
    default:
      FuzzHandles(in);
  }
  return 0;
}
