// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a whole SST object (format/sst_reader.h, format/sst_verify.h), which reaches
// the footer, the index, the filter, the range-deletion and properties blocks and the data
// blocks. The metadata and every block are checksummed, so random bytes would rarely get past
// the checksums: when the first input byte is odd, the target recomputes the header checksum,
// the metadata checksum and (after a first open) the data blocks' checksums before decoding.
//
// Checks: Open, iteration and Get fail only with Corruption; when VerifySstContents finds
// nothing wrong, the iterator yields strictly increasing internal keys, as many as the
// verifier counted, and Get finds the newest entry of each user key the filter admits.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "format/dbformat.h"
#include "format/sst_reader.h"
#include "format/sst_verify.h"
#include "fuzz/fuzz_check.h"
#include "util/coding.h"
#include "util/hash.h"

using namespace cloudkv;

namespace {

// Recomputes the header and metadata checksums stored in the footer, if the footer decodes.
void FixMetadataChecksums(std::string* bytes) {
  if (bytes->size() < kSstHeaderSize + kSstFooterSize) return;
  const size_t footer_offset = bytes->size() - kSstFooterSize;
  SstFooter footer;
  if (!DecodeSstFooter(std::string_view(*bytes).substr(footer_offset), &footer).ok()) return;
  if (footer.filter.offset > footer_offset) return;
  footer.header_checksum = Checksum32(std::string_view(*bytes).substr(0, kSstHeaderSize));
  std::string_view metadata =
      std::string_view(*bytes).substr(footer.filter.offset, footer_offset - footer.filter.offset);
  std::string encoded;
  EncodeSstFooter(footer, metadata, &encoded);
  bytes->replace(footer_offset, kSstFooterSize, encoded);
}

// Recomputes the trailer checksum of every data block the reader's index names.
void FixBlockChecksums(const SstReader& reader, std::string* bytes) {
  for (size_t i = 0; i < reader.num_data_blocks(); i++) {
    const BlockHandle& h = reader.block_handle(i);
    if (h.offset + h.size + kBlockTrailerSize > bytes->size()) return;
    const std::string_view stored = std::string_view(*bytes).substr(h.offset, h.size + 1);
    EncodeFixed32(bytes->data() + h.offset + h.size + 1, Checksum32(stored));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fix = (data[0] & 1) != 0;
  std::string bytes(fuzz::AsView(data + 1, size - 1));
  if (fix) FixMetadataChecksums(&bytes);
  auto opened = SstReader::OpenFromBytes("fuzz.sst", std::make_shared<std::string>(bytes));
  if (!opened.ok()) {
    FUZZ_CHECK(opened.status().IsCorruption());
    return 0;
  }
  if (fix) {
    FixBlockChecksums(**opened, &bytes);
    opened = SstReader::OpenFromBytes("fuzz.sst", std::make_shared<std::string>(bytes));
    FUZZ_CHECK(opened.ok());  // the metadata did not change
  }
  const std::shared_ptr<SstReader>& reader = *opened;

  std::vector<std::pair<std::string, std::string>> entries;
  auto it = reader->NewIterator();
  for (it->SeekToFirst(); it->Valid() && entries.size() < 100000; it->Next()) {
    entries.emplace_back(std::string(it->key()), std::string(it->value()));
  }
  fuzz::CheckOkOrCorruption(it->status());
  for (size_t i = 0; i < entries.size() && i < 32; i++) {
    if (entries[i].first.size() < 8) continue;
    it->Seek(entries[i].first);
    fuzz::CheckOkOrCorruption(it->status());
  }

  const SstVerifyResult verified = VerifySstContents(*reader, bytes);
  if (!verified.problems.empty() || !it->status().ok()) {
    for (size_t i = 0; i < entries.size() && i < 32; i++) {
      ParsedInternalKey parsed;
      if (!ParseInternalKey(entries[i].first, &parsed)) continue;
      LookupResult result;
      fuzz::CheckOkOrCorruption(reader->Get(parsed.user_key, kMaxSequenceNumber, &result));
    }
    return 0;
  }
  FUZZ_CHECK(entries.size() == verified.entries);
  for (size_t i = 0; i < entries.size(); i++) {
    ParsedInternalKey parsed;
    FUZZ_CHECK(ParseInternalKey(entries[i].first, &parsed));
    if (i > 0) FUZZ_CHECK(CompareInternalKeys(entries[i - 1].first, entries[i].first) < 0);
    // The first entry of a user key is its newest.
    ParsedInternalKey previous;
    if (i > 0 && ParseInternalKey(entries[i - 1].first, &previous) &&
        previous.user_key == parsed.user_key) {
      continue;
    }
    if (!reader->MayContain(parsed.user_key)) continue;  // the filter is data too
    LookupResult result;
    FUZZ_CHECK(reader->Get(parsed.user_key, kMaxSequenceNumber, &result).ok());
    FUZZ_CHECK(result.sequence == parsed.sequence);
    if (parsed.type == kTypeValue) {
      FUZZ_CHECK(result.state == LookupState::kFound && result.value == entries[i].second);
    } else {
      FUZZ_CHECK(result.state == LookupState::kDeleted);
    }
  }
  return 0;
}
