// SPDX-License-Identifier: Apache-2.0
#include "format/sst_verify.h"

#include <algorithm>

#include "format/block.h"
#include "format/sst_format.h"

namespace cloudkv {

SstVerifyResult VerifySstContents(const SstReader& reader, std::string_view data) {
  SstVerifyResult r;
  const SstProperties& props = reader.properties();
  auto at = [](uint64_t offset) { return "at offset " + std::to_string(offset) + ": "; };
  auto problem = [&r](std::string what) { r.problems.push_back(std::move(what)); };
  uint64_t expected_offset = kSstHeaderSize;
  std::string first_key, previous_key;
  for (size_t i = 0; i < reader.num_data_blocks(); i++) {
    const BlockHandle& h = reader.block_handle(i);
    const std::string block_name = "data block " + std::to_string(i);
    if (h.offset != expected_offset) {
      problem(at(expected_offset) + "bytes outside any block before " + block_name);
    }
    expected_offset = h.offset + h.size + kBlockTrailerSize;
    if (h.offset + h.size + kBlockTrailerSize > data.size()) {
      problem(at(h.offset) + block_name + " runs past the end of the object");
      r.blocks_decoded = false;
      previous_key.clear();
      continue;
    }
    auto contents = DecodeStoredBlock(data.substr(h.offset, h.size + kBlockTrailerSize));
    if (!contents.ok()) {
      problem(at(h.offset) + block_name + ": " + contents.status().message());
      previous_key.clear();  // order cannot be checked across a damaged block
      r.blocks_decoded = false;
      continue;
    }
    auto block = Block::Parse(std::move(contents).value());
    if (!block.ok()) {
      problem(at(h.offset) + block_name + ": " + block.status().message());
      previous_key.clear();
      r.blocks_decoded = false;
      continue;
    }
    BlockIter it(block->get());
    bool block_empty = true;
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      ParsedInternalKey parsed;
      if (!ParseInternalKey(it.key(), &parsed)) {
        problem(at(h.offset) + "entry with a malformed internal key");
        r.blocks_decoded = false;
        break;
      }
      if (!previous_key.empty() && CompareInternalKeys(previous_key, it.key()) >= 0) {
        problem(at(h.offset) + "keys out of order in " + block_name);
      }
      if (i > 0 && block_empty && CompareInternalKeys(it.key(), reader.index_key(i - 1)) <= 0) {
        problem(at(h.offset) + "first key of " + block_name +
                " is not above the previous block's index key");
      }
      block_empty = false;
      if (r.entries == 0) first_key.assign(it.key());
      previous_key.assign(it.key());
      r.entries++;
      r.deletions += parsed.type == kTypeDeletion;
      if (parsed.type == kTypeRangeDeletion) {
        problem(at(h.offset) + "range tombstone in " + block_name +
                " (they belong in the range-deletion block)");
      }
      r.min_seq = std::min(r.min_seq, parsed.sequence);
      r.max_seq = std::max(r.max_seq, parsed.sequence);
    }
    if (!it.status().ok()) {
      problem(at(h.offset) + block_name + ": " + it.status().message());
      r.blocks_decoded = false;
    }
    if (!block_empty && CompareInternalKeys(previous_key, reader.index_key(i)) > 0) {
      problem(at(h.offset) + "index key of " + block_name +
              " sorts before the block's last key (lookups would miss entries)");
    }
  }
  if (expected_offset != reader.footer().filter.offset) {
    problem(at(expected_offset) + "bytes outside any block before the metadata");
  }
  // Range tombstones were checked when the reader opened the SST (range-deletion block). The
  // key range covers every tombstone [b, e) @ s as (b, s) .. (e, max sequence).
  r.range_deletions = reader.range_tombstones().size();
  std::string low = first_key, high = previous_key;
  for (const RangeTombstone& t : reader.range_tombstones()) {
    std::string b = MakeInternalKey(t.begin, t.seq, kTypeRangeDeletion);
    std::string e = MakeInternalKey(t.end, kMaxSequenceNumber, kTypeRangeDeletion);
    if (low.empty() || CompareInternalKeys(b, low) < 0) low = std::move(b);
    if (high.empty() || CompareInternalKeys(e, high) > 0) high = std::move(e);
    r.min_seq = std::min(r.min_seq, t.seq);
    r.max_seq = std::max(r.max_seq, t.seq);
  }
  r.smallest_key = std::move(low);
  r.largest_key = std::move(high);
  if (!r.blocks_decoded) return r;
  auto mismatch = [&](const char* what, uint64_t found, uint64_t recorded) {
    problem(std::string(what) + ": " + std::to_string(found) + " in the data blocks, " +
            std::to_string(recorded) + " in the properties");
  };
  if (r.entries != props.num_entries) mismatch("entries", r.entries, props.num_entries);
  if (r.deletions != props.num_deletions) mismatch("deletions", r.deletions, props.num_deletions);
  if (r.range_deletions != props.num_range_deletions) {
    mismatch("range deletions", r.range_deletions, props.num_range_deletions);
  }
  if (!r.smallest_key.empty() &&
      (r.smallest_key != props.smallest_key || r.largest_key != props.largest_key)) {
    problem("key range differs from the properties' smallest/largest key");
  }
  return r;
}

}  // namespace cloudkv
