// SPDX-License-Identifier: Apache-2.0
// VerifySstContents: the checks of one SST's own consistency that SstReader::Open does not make
// (it checks the footer, the header, the metadata checksum, the properties, the index and the
// range-deletion block). Used by `cloudkv verify` (tools/verify.cc), which adds the checks
// against the manifest's record of the SST.
#ifndef CLOUDKV_FORMAT_SST_VERIFY_H_
#define CLOUDKV_FORMAT_SST_VERIFY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/dbformat.h"
#include "format/sst_reader.h"

namespace cloudkv {

struct SstVerifyResult {
  // What is wrong, each naming the offset where it is; empty: the SST is intact.
  std::vector<std::string> problems;
  // False when a data block does not decode: the totals below then cover only the others.
  bool blocks_decoded = true;
  uint64_t entries = 0;          // point entries in the data blocks
  uint64_t deletions = 0;        // of which point tombstones
  uint64_t range_deletions = 0;  // range tombstones (range-deletion block)
  // Over entries and range tombstones; min_seq = kMaxSequenceNumber and max_seq = 0 when empty.
  SequenceNumber min_seq = kMaxSequenceNumber;
  SequenceNumber max_seq = 0;
  // The internal-key range, a tombstone [b, e) @ s counted as (b, s) .. (e, max sequence);
  // empty when the SST holds nothing.
  std::string smallest_key;
  std::string largest_key;
};

// Reads every data block of `data` (the whole object `reader` was opened on): each block's
// checksum and decoding, blocks contiguous from the header to the metadata, internal keys
// well-formed and in order within and across blocks, each index key at or above its block's
// last key and below the next block's first, no range tombstone among point entries; then the
// entry, deletion and range-deletion counts and the key range against the properties.
SstVerifyResult VerifySstContents(const SstReader& reader, std::string_view data);

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_SST_VERIFY_H_
