// SPDX-License-Identifier: Apache-2.0
// Builds the object layout of docs/format-sst.md. Data blocks are cut at options_.block_size;
// index entries are written one block late so the separator can be shortened against the
// next block's first key.
#include "format/sst_builder.h"

#include <algorithm>
#include <cassert>

#include "format/dbformat.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr uint64_t kMaxTrailer = (kMaxSequenceNumber << 8) | kValueTypeForSeek;
// Range-deletion blocks are small and read whole; restarts every 16 entries as data blocks.
constexpr int kRangeDelRestartInterval = 16;

// Shortens *start (an internal key) to a key k with *start <= k < limit, if a shorter user
// key fits between the two user keys.
void ShortenSeparator(std::string* start, std::string_view limit) {
  std::string_view a = ExtractUserKey(*start);
  std::string_view b = ExtractUserKey(limit);
  const size_t n = std::min(a.size(), b.size());
  size_t diff = 0;
  while (diff < n && a[diff] == b[diff]) diff++;
  if (diff >= n) return;  // one user key is a prefix of the other
  const auto byte = static_cast<uint8_t>(a[diff]);
  if (byte == 0xff || byte + 1 >= static_cast<uint8_t>(b[diff])) return;
  if (diff + 1 >= a.size()) return;  // would not be shorter
  std::string shorter(a.substr(0, diff + 1));
  shorter.back() = static_cast<char>(byte + 1);
  PutFixed64(&shorter, kMaxTrailer);
  assert(CompareInternalKeys(*start, shorter) < 0 && CompareInternalKeys(shorter, limit) < 0);
  *start = std::move(shorter);
}

// Shortens *key to a short internal key >= it (used after the last block).
void ShortenSuccessor(std::string* key) {
  std::string_view u = ExtractUserKey(*key);
  for (size_t i = 0; i + 1 < u.size(); i++) {
    const auto byte = static_cast<uint8_t>(u[i]);
    if (byte == 0xff) continue;
    std::string shorter(u.substr(0, i + 1));
    shorter.back() = static_cast<char>(byte + 1);
    PutFixed64(&shorter, kMaxTrailer);
    assert(CompareInternalKeys(*key, shorter) < 0);
    *key = std::move(shorter);
    return;
  }
}

}  // namespace

SstBuilder::SstBuilder(const SstBuilderOptions& options, uint64_t epoch, uint64_t nonce,
                       uint64_t create_time_micros)
    : options_(options), data_block_(options.restart_interval), index_block_(1) {
  assert(options.block_size > 0);
  if (options.bloom_bits_per_key > 0) {
    bloom_ = std::make_unique<BloomFilterBuilder>(std::min(options.bloom_bits_per_key, 100));
  }
  props_.epoch = epoch;
  props_.nonce = nonce;
  props_.create_time_micros = create_time_micros;
  EncodeSstHeader(SstHeader{kSstFormatVersion, epoch, nonce}, &out_);
}

void SstBuilder::Add(std::string_view internal_key, std::string_view value) {
  assert(!finished_);
  ParsedInternalKey parsed;
  if (!status_.ok()) return;
  if (!ParseInternalKey(internal_key, &parsed)) {
    assert(false && "SstBuilder::Add: malformed internal key");
    status_ = Status::InvalidArgument("SstBuilder::Add: malformed internal key");
    return;
  }
  if (parsed.type == kTypeRangeDeletion) {
    assert(false && "SstBuilder::Add: range tombstones go through AddRangeTombstone");
    status_ = Status::InvalidArgument("SstBuilder::Add: range tombstone added as a point entry");
    return;
  }
  if (props_.num_entries > 0 && CompareInternalKeys(last_key_, internal_key) >= 0) {
    assert(false && "SstBuilder::Add: keys not strictly increasing");
    status_ = Status::InvalidArgument("SstBuilder::Add: keys not strictly increasing");
    return;
  }
  if (internal_key.size() + value.size() > kMaxBlockBytes / 2) {
    status_ = Status::InvalidArgument("SstBuilder::Add: entry too large");
    return;
  }
  if (pending_index_entry_) AddIndexEntry(internal_key);

  if (props_.num_entries == 0) {
    props_.smallest_key.assign(internal_key);
    props_.smallest_seq = parsed.sequence;
  }
  props_.smallest_seq = std::min(props_.smallest_seq, parsed.sequence);
  props_.largest_seq = std::max(props_.largest_seq, parsed.sequence);
  props_.num_entries++;
  if (parsed.type == kTypeDeletion) props_.num_deletions++;
  props_.raw_key_bytes += internal_key.size();
  props_.raw_value_bytes += value.size();
  if (bloom_) bloom_->AddKey(parsed.user_key);

  last_key_.assign(internal_key);
  data_block_.Add(internal_key, value);
  if (data_block_.CurrentSizeEstimate() >= options_.block_size) FlushDataBlock();
}

void SstBuilder::AddRangeTombstone(std::string_view begin, std::string_view end, uint64_t seq) {
  assert(!finished_);
  if (!status_.ok()) return;
  if (!(begin < end) || seq == 0 || seq > kMaxSequenceNumber) {
    assert(false && "SstBuilder::AddRangeTombstone: empty range or bad sequence");
    status_ = Status::InvalidArgument("SstBuilder::AddRangeTombstone: empty range or bad sequence");
    return;
  }
  range_tombstones_.push_back(
      PendingTombstone{MakeInternalKey(begin, seq, kTypeRangeDeletion), std::string(end)});
  range_tombstone_bytes_ += begin.size() + end.size() + 8 + 12;
  if (range_tombstone_bytes_ > kMaxBlockBytes / 2) {
    status_ =
        Status::InvalidArgument("SstBuilder::AddRangeTombstone: range-deletion block too large");
  }
}

Result<std::string> SstBuilder::FinishRangeDeletions() {
  std::sort(range_tombstones_.begin(), range_tombstones_.end(),
            [](const PendingTombstone& a, const PendingTombstone& b) {
              return CompareInternalKeys(a.begin_internal_key, b.begin_internal_key) < 0;
            });
  BlockBuilder block(kRangeDelRestartInterval);
  for (size_t i = 0; i < range_tombstones_.size(); i++) {
    const PendingTombstone& t = range_tombstones_[i];
    if (i > 0 && CompareInternalKeys(range_tombstones_[i - 1].begin_internal_key,
                                     t.begin_internal_key) == 0) {
      return Status::InvalidArgument(
          "SstBuilder: two range tombstones with the same begin and sequence");
    }
    block.Add(t.begin_internal_key, t.end);
    const SequenceNumber seq = ExtractTrailer(t.begin_internal_key) >> 8;
    // Widen the key range to [begin, end]: the end sorts before every real entry of it.
    std::string end_key = MakeInternalKey(t.end, kMaxSequenceNumber, kTypeRangeDeletion);
    if (props_.smallest_key.empty() ||
        CompareInternalKeys(t.begin_internal_key, props_.smallest_key) < 0) {
      props_.smallest_key = t.begin_internal_key;
    }
    if (props_.largest_key.empty() || CompareInternalKeys(end_key, props_.largest_key) > 0) {
      props_.largest_key = std::move(end_key);
    }
    if (props_.num_entries == 0 && i == 0) {
      props_.smallest_seq = seq;
      props_.largest_seq = seq;
    }
    props_.smallest_seq = std::min(props_.smallest_seq, seq);
    props_.largest_seq = std::max(props_.largest_seq, seq);
  }
  props_.num_range_deletions = range_tombstones_.size();
  return std::string(block.Finish());
}

void SstBuilder::FlushDataBlock() {
  assert(!data_block_.empty() && !pending_index_entry_);
  std::string_view raw = data_block_.Finish();
  pending_handle_.offset = out_.size();
  AppendCompressedBlock(raw, options_.compression, &scratch_, &out_);
  pending_handle_.size = out_.size() - pending_handle_.offset - kBlockTrailerSize;
  if (sink_) sink_(pending_handle_.offset, raw);
  data_block_.Reset();
  pending_index_entry_ = true;
}

void SstBuilder::AddIndexEntry(std::string_view next_key) {
  assert(pending_index_entry_);
  std::string separator = last_key_;
  if (next_key.empty()) {
    ShortenSuccessor(&separator);
  } else {
    ShortenSeparator(&separator, next_key);
  }
  std::string handle;
  EncodeBlockHandle(pending_handle_, &handle);
  index_block_.Add(separator, handle);
  pending_index_entry_ = false;
}

uint64_t SstBuilder::EstimatedSize() const {
  return out_.size() + data_block_.CurrentSizeEstimate() + index_block_.CurrentSizeEstimate() +
         (bloom_ ? bloom_->EstimatedSize() : 0) + range_tombstone_bytes_ + kSstFooterSize + 512;
}

Result<std::string> SstBuilder::Finish(SstProperties* props) {
  assert(!finished_);
  finished_ = true;
  if (!status_.ok()) return status_;
  if (!data_block_.empty()) FlushDataBlock();
  if (pending_index_entry_) AddIndexEntry({});
  props_.largest_key = last_key_;
  props_.data_bytes = out_.size() - kSstHeaderSize;
  std::string range_del_block;
  if (!range_tombstones_.empty()) {
    ASSIGN_OR_RETURN(range_del_block, FinishRangeDeletions());
    // Readers that do not know the range-deletion block must refuse this SST.
    EncodeFixed32(out_.data() + 8, kSstFormatVersionWithRangeDeletions);
  }

  SstFooter footer;
  footer.epoch = props_.epoch;
  footer.nonce = props_.nonce;
  footer.format_version =
      range_tombstones_.empty() ? kSstFormatVersion : kSstFormatVersionWithRangeDeletions;
  footer.header_checksum = Checksum32(std::string_view(out_.data(), kSstHeaderSize));
  const size_t metadata_start = out_.size();
  footer.filter.offset = out_.size();
  if (bloom_) out_.append(bloom_->Finish());
  footer.filter.size = out_.size() - footer.filter.offset;
  props_.filter_bytes = footer.filter.size;
  out_.append(range_del_block);  // between the filter and the properties (version 2)

  std::string_view index = index_block_.Finish();
  props_.index_bytes = index.size();
  footer.properties.offset = out_.size();
  EncodeSstProperties(props_, &out_);
  footer.properties.size = out_.size() - footer.properties.offset;
  footer.index.offset = out_.size();
  out_.append(index);
  footer.index.size = index.size();

  out_.reserve(out_.size() + kSstFooterSize);  // keeps `metadata` valid while appending
  const std::string_view metadata(out_.data() + metadata_start, out_.size() - metadata_start);
  EncodeSstFooter(footer, metadata, &out_);
  if (props != nullptr) *props = props_;
  return std::move(out_);
}

}  // namespace cloudkv
