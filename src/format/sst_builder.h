// SPDX-License-Identifier: Apache-2.0
// SstBuilder: builds one SST object in memory (format: docs/format-sst.md).
//
//   header | data block* | filter block | [range-del block] | properties block | index block
//   | footer
//
// Data blocks hold point entries (internal keys, format/dbformat.h) in CompareInternalKeys order;
// each is compressed on its own and followed by a checksummed trailer. The filter is a Bloom
// filter over user keys; the range-deletion block (format version 2, only if the SST has range
// tombstones) holds them unfragmented; the index has one entry per data block; the footer
// checksums all metadata.
// The caller uploads the finished object in one PUT.
//
// Thread-safety: not thread-safe.
#ifndef CLOUDKV_FORMAT_SST_BUILDER_H_
#define CLOUDKV_FORMAT_SST_BUILDER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/options.h"
#include "cloudkv/status.h"
#include "format/block_builder.h"
#include "format/bloom.h"
#include "format/sst_format.h"

namespace cloudkv {

struct SstBuilderOptions {
  // Target size of a data block before compression; a block is cut once it reaches this.
  size_t block_size = 4096;
  Compression compression = Compression::kZstd;
  // 0 disables the filter.
  int bloom_bits_per_key = 10;
  // Entries between restart points in data blocks.
  int restart_interval = 16;
};

class SstBuilder {
 public:
  explicit SstBuilder(const SstBuilderOptions& options, uint64_t epoch, uint64_t nonce,
                      uint64_t create_time_micros);
  SstBuilder(const SstBuilder&) = delete;
  SstBuilder& operator=(const SstBuilder&) = delete;

  // Adds an entry. REQUIRES: internal_key is a valid internal key strictly greater than every
  // key added before, and Finish() has not been called. A violation is reported by Finish()
  // as InvalidArgument (and asserted in debug builds).
  // Point entries only: a kTypeRangeDeletion key is reported by Finish() as InvalidArgument.
  void Add(std::string_view internal_key, std::string_view value);

  // Adds the range tombstone [begin, end) @ seq, in any order relative to Add and to other
  // tombstones (they may overlap). The SST's smallest/largest keys will cover [begin, end].
  // REQUIRES: begin < end, 0 < seq <= kMaxSequenceNumber, no other tombstone with the same
  // (begin, seq); Finish() not called. Violations are reported by Finish() as InvalidArgument.
  void AddRangeTombstone(std::string_view begin, std::string_view end, uint64_t seq);

  // Receives every data block as it is finished: its offset in the object and its uncompressed
  // contents (valid during the call only). Used to prepopulate the block cache.
  using DataBlockSink = std::function<void(uint64_t offset, std::string_view contents)>;
  void SetDataBlockSink(DataBlockSink sink) { sink_ = std::move(sink); }

  // Approximate size of the object if Finish() were called now.
  uint64_t EstimatedSize() const;
  uint64_t NumEntries() const { return props_.num_entries; }
  uint64_t NumRangeTombstones() const { return range_tombstones_.size(); }

  // Returns the whole object and fills *props (if not null). May be called once.
  Result<std::string> Finish(SstProperties* props);

 private:
  struct PendingTombstone {
    std::string begin_internal_key;  // (begin, seq, kTypeRangeDeletion)
    std::string end;
  };
  void FlushDataBlock();
  void AddIndexEntry(std::string_view next_key);
  // Sorts the tombstones, widens smallest/largest keys and returns the range-del block.
  Result<std::string> FinishRangeDeletions();

  const SstBuilderOptions options_;
  std::string out_;  // header and data blocks written so far
  BlockBuilder data_block_;
  BlockBuilder index_block_;
  std::unique_ptr<BloomFilterBuilder> bloom_;
  SstProperties props_;
  std::string last_key_;
  std::vector<PendingTombstone> range_tombstones_;
  uint64_t range_tombstone_bytes_ = 0;
  // A data block was flushed and its index entry waits for the next key (to choose a short
  // separator).
  bool pending_index_entry_ = false;
  BlockHandle pending_handle_;
  std::string scratch_;
  DataBlockSink sink_;
  Status status_;
  bool finished_ = false;
};

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_SST_BUILDER_H_
