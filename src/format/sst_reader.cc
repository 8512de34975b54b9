// SPDX-License-Identifier: Apache-2.0
// Reading the layout of docs/format-sst.md: Open pins the metadata, Get and ReadBlock serve
// point lookups through the block cache. The iterator lives in sst_iterator.cc.
#include "format/sst_reader.h"

#include <algorithm>
#include <cassert>

#include "util/coding.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace cloudkv {

SstReader::SstReader(std::shared_ptr<ObjectStore> store, std::string object_key,
                     uint64_t object_size, const SstReadOptions& options)
    : store_(std::move(store)),
      object_key_(std::move(object_key)),
      object_size_(object_size),
      options_(options),
      part_reader_(store_ == nullptr ? nullptr
                                     : std::make_unique<PartReader>(
                                           store_, object_key_, object_size_, options.disk_cache)) {
}

SstReader::~SstReader() {
  if (options_.cache == nullptr || cache_id_ == 0) return;
  for (const BlockHandle& h : handles_) options_.cache->Erase(cache_id_, h.offset);
}

void RetainedBlocks::Add(uint64_t offset, std::string_view contents) {
  const auto charge = static_cast<int64_t>(contents.size() + sizeof(Block));
  if (budget_bytes_ != nullptr &&
      budget_bytes_->fetch_sub(charge, std::memory_order_relaxed) < charge) {
    budget_bytes_->fetch_add(charge, std::memory_order_relaxed);  // over budget: not kept
    return;
  }
  auto block = Block::Parse(std::string(contents));
  if (!block.ok()) return;  // the builder's own output; Finish reports real errors
  blocks_.emplace_back(offset, std::move(block).value());
}

size_t SstReader::Prepopulate(const RetainedBlocks& retained) {
  BlockCache* cache = options_.cache.get();
  if (cache == nullptr) return 0;
  size_t inserted = 0;
  for (const auto& [offset, block] : retained.blocks()) {
    auto it = std::lower_bound(handles_.begin(), handles_.end(), offset,
                               [](const BlockHandle& h, uint64_t o) { return h.offset < o; });
    if (it == handles_.end() || it->offset != offset) continue;
    if (cache->InsertIfRoom(cache_id_, offset, block, block->memory_bytes())) inserted++;
  }
  return inserted;
}

Result<std::shared_ptr<SstReader>> SstReader::Open(std::shared_ptr<ObjectStore> store,
                                                   std::string object_key, uint64_t object_size,
                                                   const SstReadOptions& options) {
  assert(store != nullptr);
  std::shared_ptr<SstReader> reader(
      new SstReader(std::move(store), std::move(object_key), object_size, options));
  RETURN_IF_ERROR(reader->LoadMetadata());
  if (reader->options_.cache) reader->cache_id_ = reader->options_.cache->NewId();
  return reader;
}

Result<std::shared_ptr<SstReader>> SstReader::OpenFromBytes(
    std::string object_key, std::shared_ptr<const std::string> bytes) {
  assert(bytes != nullptr);
  SstReadOptions options;
  options.read_unit_bytes = 0;
  options.open_tail_bytes = bytes->size();
  std::shared_ptr<SstReader> reader(
      new SstReader(nullptr, std::move(object_key), bytes->size(), options));
  reader->bytes_ = std::move(bytes);
  RETURN_IF_ERROR(reader->LoadMetadata());
  return reader;
}

Status SstReader::Corrupt(uint64_t offset, std::string_view what) const {
  return Status::Corruption("SST '" + object_key_ + "' at offset " + std::to_string(offset) + ": " +
                            std::string(what));
}

Result<std::string> SstReader::ReadRange(uint64_t begin, uint64_t end) {
  assert(begin < end && end <= object_size_);
  if (bytes_ != nullptr) {
    object_reads_.fetch_add(1, std::memory_order_relaxed);
    bytes_read_.fetch_add(end - begin, std::memory_order_relaxed);
    return bytes_->substr(begin, end - begin);
  }
  auto got = part_reader_->ReadRange(begin, end);
  if (got.ok()) return got;
  const Status& s = got.status();
  if (s.IsInvalidArgument()) return Corrupt(begin, "object shorter than expected");
  if (s.IsNotFound()) {
    if (options_.missing_object_status) return options_.missing_object_status(object_key_);
    return Status::Corruption("SST '" + object_key_ + "' is missing from the store");
  }
  return s.WithContext("reading SST '" + object_key_ + "'");
}

Status SstReader::CheckHeaderIn(std::string_view buf, uint64_t buf_offset) const {
  if (buf_offset != 0 || buf.size() < kSstHeaderSize) return Status::OK();
  std::string_view header_bytes = buf.substr(0, kSstHeaderSize);
  SstHeader header;
  if (Checksum32(header_bytes) != footer_.header_checksum) {
    return Corrupt(0, "header checksum mismatch");
  }
  if (Status s = DecodeSstHeader(header_bytes, &header); !s.ok()) return Corrupt(0, s.message());
  if (header.epoch != footer_.epoch || header.nonce != footer_.nonce ||
      header.format_version != footer_.format_version) {
    return Corrupt(0, "header does not match footer");
  }
  return Status::OK();
}

Status SstReader::LoadMetadata() {
  if (object_size_ < kSstHeaderSize + kSstFooterSize) {
    return Corrupt(0, "object of " + std::to_string(object_size_) + " bytes is too small");
  }
  const uint64_t footer_offset = object_size_ - kSstFooterSize;
  const uint64_t tail_size = std::max<uint64_t>(
      kSstFooterSize, std::min<uint64_t>(object_size_, options_.open_tail_bytes));
  uint64_t tail_offset = object_size_ - tail_size;
  ASSIGN_OR_RETURN(std::string tail, ReadRange(tail_offset, object_size_));
  std::string_view footer_bytes(tail.data() + (footer_offset - tail_offset), kSstFooterSize);
  if (Status s = DecodeSstFooter(footer_bytes, &footer_); !s.ok()) {
    return Corrupt(footer_offset, s.message());
  }
  // The metadata blocks are contiguous, in order, between the data blocks and the footer.
  const BlockHandle& f = footer_.filter;
  const BlockHandle& p = footer_.properties;
  const BlockHandle& x = footer_.index;
  // Version 2 puts the range-deletion block between the filter and the properties.
  const bool has_range_del = footer_.format_version == kSstFormatVersionWithRangeDeletions;
  if (f.offset < kSstHeaderSize || f.offset > footer_offset || f.size > footer_offset - f.offset ||
      p.offset < f.offset + f.size || (p.offset > f.offset + f.size) != has_range_del ||
      p.offset > footer_offset || p.size > footer_offset - p.offset ||
      x.offset != p.offset + p.size || x.size != footer_offset - x.offset) {
    return Corrupt(footer_offset, "footer block handles out of bounds");
  }
  data_end_ = f.offset;
  if (data_end_ < tail_offset) {
    // The metadata is larger than the guess: one more GET for the rest.
    ASSIGN_OR_RETURN(std::string head, ReadRange(data_end_, tail_offset));
    head.append(tail);
    tail = std::move(head);
    tail_offset = data_end_;
  }
  std::string_view tail_view = tail;
  std::string_view metadata = tail_view.substr(data_end_ - tail_offset, footer_offset - data_end_);
  footer_bytes = tail_view.substr(footer_offset - tail_offset, kSstFooterSize);
  if (!VerifySstMetadata(metadata, footer_bytes)) {
    return Corrupt(data_end_, "metadata checksum mismatch");
  }
  RETURN_IF_ERROR(CheckHeaderIn(tail_view, tail_offset));

  if (f.size > 0) {
    auto filter = BloomFilterReader::Create(metadata.substr(0, f.size));
    if (!filter.ok()) return Corrupt(f.offset, filter.status().message());
    filter_ = std::move(filter).value();
    pinned_bytes_ += filter_->memory_bytes();
  }
  if (Status s = DecodeSstProperties(metadata.substr(p.offset - f.offset, p.size), &properties_);
      !s.ok()) {
    return Corrupt(p.offset, s.message());
  }
  if (properties_.epoch != footer_.epoch || properties_.nonce != footer_.nonce) {
    return Corrupt(p.offset, "properties do not match footer");
  }
  if (has_range_del) {
    const uint64_t r = f.offset + f.size;
    RETURN_IF_ERROR(ParseRangeDeletions(metadata.substr(r - f.offset, p.offset - r), r));
  }
  return ParseIndex(metadata.substr(x.offset - f.offset, x.size), x.offset);
}

Status SstReader::ParseRangeDeletions(std::string_view contents, uint64_t offset) {
  auto block = Block::Parse(std::string(contents));
  if (!block.ok()) return Corrupt(offset, "range-deletion block: " + block.status().message());
  BlockIter it(block->get());
  std::string previous_key;
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    ParsedInternalKey begin;
    if (!ParseInternalKey(it.key(), &begin) || begin.type != kTypeRangeDeletion ||
        begin.sequence == 0) {
      return Corrupt(offset, "bad key in range-deletion block");
    }
    if (!range_tombstones_.empty() && CompareInternalKeys(previous_key, it.key()) >= 0) {
      return Corrupt(offset, "range-deletion block keys out of order");
    }
    if (!(begin.user_key < it.value())) {
      return Corrupt(offset, "empty range in range-deletion block");
    }
    range_tombstones_.push_back(
        RangeTombstone{std::string(begin.user_key), std::string(it.value()), begin.sequence});
    previous_key.assign(it.key());
  }
  if (!it.status().ok()) {
    return Corrupt(offset, "range-deletion block: " + it.status().message());
  }
  if (range_tombstones_.empty() || range_tombstones_.size() != properties_.num_range_deletions) {
    return Corrupt(offset, "range-deletion block does not match num_range_deletions");
  }
  pinned_bytes_ += range_tombstones_.capacity() * sizeof(RangeTombstone);
  for (const RangeTombstone& t : range_tombstones_) {
    pinned_bytes_ += t.begin.capacity() + t.end.capacity();
  }
  return Status::OK();
}

Status SstReader::ParseIndex(std::string_view index, uint64_t index_offset) {
  if (index.size() > UINT32_MAX) return Corrupt(index_offset, "index block too large");
  auto block = Block::Parse(std::string(index));
  if (!block.ok()) return Corrupt(index_offset, "index: " + block.status().message());
  BlockIter it(block->get());
  std::vector<uint32_t> key_offsets;
  std::string previous_key;
  uint64_t previous_end = kSstHeaderSize;
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    std::string_view value = it.value();
    BlockHandle h;
    if (!DecodeBlockHandle(&value, &h) || !value.empty()) {
      return Corrupt(index_offset, "bad index block handle");
    }
    // Data blocks are in order, do not overlap and lie between the header and the metadata.
    if (h.offset < previous_end || h.size > kMaxBlockBytes || h.offset > data_end_ ||
        h.size + kBlockTrailerSize > data_end_ - h.offset) {
      return Corrupt(index_offset, "index block handle out of bounds");
    }
    if (!key_offsets.empty() && CompareInternalKeys(previous_key, it.key()) >= 0) {
      return Corrupt(index_offset, "index keys out of order");
    }
    previous_end = h.offset + h.size + kBlockTrailerSize;
    key_offsets.push_back(static_cast<uint32_t>(index_keys_storage_.size()));
    index_keys_storage_.append(it.key());
    handles_.push_back(h);
    previous_key.assign(it.key());
  }
  if (!it.status().ok()) return Corrupt(index_offset, "index: " + it.status().message());
  if ((handles_.empty() && properties_.num_entries != 0) ||
      (!handles_.empty() && properties_.num_entries == 0)) {
    return Corrupt(index_offset, "index does not match the entry count");
  }
  // Views into the (now stable) storage.
  index_keys_.resize(key_offsets.size());
  for (size_t i = 0; i < key_offsets.size(); i++) {
    const size_t end = i + 1 < key_offsets.size() ? key_offsets[i + 1] : index_keys_storage_.size();
    index_keys_[i] =
        std::string_view(index_keys_storage_).substr(key_offsets[i], end - key_offsets[i]);
  }
  pinned_bytes_ += index_keys_storage_.capacity() +
                   index_keys_.capacity() * sizeof(std::string_view) +
                   handles_.capacity() * sizeof(BlockHandle) + sizeof(*this);
  return Status::OK();
}

size_t SstReader::FindBlock(std::string_view target) const {
  auto it = std::lower_bound(
      index_keys_.begin(), index_keys_.end(), target,
      [](std::string_view a, std::string_view b) { return CompareInternalKeys(a, b) < 0; });
  return static_cast<size_t>(it - index_keys_.begin());
}

bool SstReader::MayContain(std::string_view user_key) const {
  if (handles_.empty()) return false;
  return filter_ == nullptr || filter_->MayContain(user_key);
}

Result<std::shared_ptr<const Block>> SstReader::DecodeBlock(size_t i, std::string_view buf,
                                                            uint64_t buf_offset) const {
  const BlockHandle& h = handles_[i];
  assert(h.offset >= buf_offset && BlockEnd(i) <= buf_offset + buf.size());
  auto contents = DecodeStoredBlock(buf.substr(h.offset - buf_offset, h.size + kBlockTrailerSize));
  if (!contents.ok()) return Corrupt(h.offset, contents.status().message());
  auto block = Block::Parse(std::move(contents).value());
  if (!block.ok()) return Corrupt(h.offset, block.status().message());
  return block;
}

void SstReader::InsertIntoCache(size_t i, const std::shared_ptr<const Block>& block) {
  options_.cache->Insert(cache_id_, handles_[i].offset, block, block->memory_bytes());
}

Result<std::shared_ptr<const Block>> SstReader::ReadBlock(size_t i, bool fill_cache,
                                                          bool cache_only) {
  assert(i < handles_.size());
  BlockCache* cache = options_.cache.get();
  if (cache != nullptr) {
    auto cached = std::static_pointer_cast<const Block>(cache->Lookup(cache_id_, handles_[i].offset,
                                                                      /*count_miss=*/!cache_only));
    if (cached != nullptr) return cached;
  }
  if (cache_only && store_ != nullptr) return std::shared_ptr<const Block>();
  // Fetch the aligned unit around the block (never past the data blocks).
  const uint64_t unit = options_.read_unit_bytes;
  uint64_t begin = handles_[i].offset;
  uint64_t end = BlockEnd(i);
  if (unit > 0) {
    begin = begin / unit * unit;
    end = std::min(data_end_, std::max(end, (end + unit - 1) / unit * unit));
  }
  ASSIGN_OR_RETURN(std::string buf, ReadRange(begin, end));
  RETURN_IF_ERROR(CheckHeaderIn(buf, begin));
  ASSIGN_OR_RETURN(std::shared_ptr<const Block> block, DecodeBlock(i, buf, begin));
  if (cache == nullptr || !fill_cache) return block;
  InsertIntoCache(i, block);
  // Cache the neighbours the unit holds whole; a bad neighbour is left for its own read to
  // report.
  for (size_t j = i; j > 0 && handles_[j - 1].offset >= begin; j--) {
    if (cache->Contains(cache_id_, handles_[j - 1].offset)) continue;
    auto other = DecodeBlock(j - 1, buf, begin);
    if (other.ok()) InsertIntoCache(j - 1, *other);
  }
  for (size_t j = i + 1; j < handles_.size() && BlockEnd(j) <= end; j++) {
    if (cache->Contains(cache_id_, handles_[j].offset)) continue;
    auto other = DecodeBlock(j, buf, begin);
    if (other.ok()) InsertIntoCache(j, *other);
  }
  return block;
}

Status SstReader::Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result,
                      bool fill_cache, bool cache_only) {
  result->state = LookupState::kNotPresent;
  if (!MayContain(user_key)) return Status::OK();
  std::string target;
  target.reserve(user_key.size() + 8);
  AppendInternalKey(&target, user_key, std::min(snapshot, kMaxSequenceNumber), kValueTypeForSeek);
  BlockIter it;
  for (size_t i = FindBlock(target); i < handles_.size(); i++) {
    ASSIGN_OR_RETURN(std::shared_ptr<const Block> block, ReadBlock(i, fill_cache, cache_only));
    if (block == nullptr) {
      result->state = LookupState::kNotCached;
      return Status::OK();
    }
    it.Init(block.get());
    it.Seek(target);  // in a later block, every key is > target: lands on the first entry
    for (; it.Valid(); it.Next()) {
      ParsedInternalKey parsed;
      if (!ParseInternalKey(it.key(), &parsed)) {
        return Corrupt(handles_[i].offset, "bad internal key in data block");
      }
      if (parsed.user_key != user_key) return Status::OK();
      if (parsed.sequence > snapshot) {
        return Corrupt(handles_[i].offset, "data block keys out of order");
      }
      if (parsed.type == kTypeRangeDeletion) continue;
      result->sequence = parsed.sequence;
      if (parsed.type == kTypeDeletion) {
        result->state = LookupState::kDeleted;
      } else {
        result->state = LookupState::kFound;
        result->value.assign(it.value());
      }
      return Status::OK();
    }
    if (!it.status().ok()) return Corrupt(handles_[i].offset, it.status().message());
  }
  return Status::OK();
}

}  // namespace cloudkv
