// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the SST object format (docs/format-sst.md): the header, block handles,
// block trailers with compression, the properties block and the footer.
//
// Everything here is a pure function over bytes; decoders take untrusted input and return
// Corruption (without the object name, which callers add) on any mismatch.
#ifndef CLOUDKV_FORMAT_SST_FORMAT_H_
#define CLOUDKV_FORMAT_SST_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "cloudkv/options.h"
#include "cloudkv/status.h"

namespace cloudkv {

// "ckvSST\x00\x01" read as a little-endian fixed64.
constexpr uint64_t kSstMagic = 0x0100545353766b63ull;
// Version 1: no range tombstones. Version 2: a range-deletion block sits between the filter
// and the properties blocks. Writers use version 2 exactly when the SST holds range
// tombstones, so SSTs without any stay readable by version-1 readers, and a version-1 reader
// refuses (never silently ignores) an SST with range tombstones.
constexpr uint32_t kSstFormatVersion = 1;
constexpr uint32_t kSstFormatVersionWithRangeDeletions = 2;
constexpr uint32_t kSstMaxFormatVersion = 2;
constexpr size_t kSstHeaderSize = 32;
constexpr size_t kSstFooterSize = 88;
// 1 byte compression type + fixed32 checksum after every data block.
constexpr size_t kBlockTrailerSize = 5;
// Largest uncompressed block accepted by a reader (a limit on untrusted sizes).
constexpr size_t kMaxBlockBytes = 256ull << 20;

// What an SST holds, computed by the builder and stored in its properties block.
struct SstProperties {
  uint64_t num_entries = 0;  // point entries (data blocks)
  uint64_t num_deletions = 0;
  uint64_t num_range_deletions = 0;  // entries of the range-deletion block
  uint64_t raw_key_bytes = 0;        // internal keys, as added
  uint64_t raw_value_bytes = 0;
  uint64_t data_bytes = 0;  // stored data blocks including trailers
  uint64_t index_bytes = 0;
  uint64_t filter_bytes = 0;
  // Internal keys; empty for an empty SST. They bound the point entries and the range
  // tombstones: a tombstone [b, e) @ s contributes (b, s, kTypeRangeDeletion) and
  // (e, kMaxSequenceNumber, kTypeRangeDeletion), which sorts before every real entry of e.
  std::string smallest_key;
  std::string largest_key;
  uint64_t smallest_seq = 0;
  uint64_t largest_seq = 0;
  uint64_t create_time_micros = 0;
  uint64_t epoch = 0;
  uint64_t nonce = 0;
};

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;  // stored bytes, without the trailer
};

struct SstHeader {
  uint32_t format_version = kSstFormatVersion;
  uint64_t epoch = 0;
  uint64_t nonce = 0;
};

struct SstFooter {
  BlockHandle filter;  // size 0: no filter
  BlockHandle properties;
  BlockHandle index;
  uint64_t epoch = 0;
  uint64_t nonce = 0;
  uint32_t header_checksum = 0;  // Checksum32 of the 32 header bytes
  uint32_t format_version = kSstFormatVersion;
  uint64_t metadata_checksum = 0;  // see EncodeFooter
};

void EncodeSstHeader(const SstHeader& header, std::string* out);
Status DecodeSstHeader(std::string_view bytes, SstHeader* header);

// Appends the footer. The metadata checksum is XXH3-64 of `metadata` (the bytes from the
// filter block's offset up to the footer) followed by the footer's first 72 bytes; the
// function computes it and stores it in the footer it writes.
void EncodeSstFooter(SstFooter footer, std::string_view metadata, std::string* out);
// Decodes a footer (exactly kSstFooterSize bytes) without verifying its checksum: checks the
// magic and that the version is 1..kSstMaxFormatVersion.
Status DecodeSstFooter(std::string_view bytes, SstFooter* footer);
// Verifies footer.metadata_checksum against the metadata bytes and the encoded footer.
bool VerifySstMetadata(std::string_view metadata, std::string_view footer_bytes);

// Properties block: a sequence of (name, value) length-prefixed string pairs; integers are
// varint64-encoded values. Unknown names are ignored by the decoder (forward compatibility).
void EncodeSstProperties(const SstProperties& props, std::string* out);
Status DecodeSstProperties(std::string_view bytes, SstProperties* props);

// Index block values.
void EncodeBlockHandle(const BlockHandle& handle, std::string* out);
bool DecodeBlockHandle(std::string_view* input, BlockHandle* handle);

// Compresses `raw` with `type` unless it saves less than 12.5%, and appends the stored bytes
// and the trailer (type actually used + checksum) to `out`. `scratch` is reused between calls.
void AppendCompressedBlock(std::string_view raw, Compression type, std::string* scratch,
                           std::string* out);

// Checks the trailer of `stored` (block bytes followed by the kBlockTrailerSize trailer) and
// returns the uncompressed contents.
Result<std::string> DecodeStoredBlock(std::string_view stored);

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_SST_FORMAT_H_
