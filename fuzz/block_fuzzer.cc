// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a decoded data block (format/block.h). Block::Parse and every BlockIter move
// must turn bad bytes into Corruption. A block whose entries decode, in strictly increasing
// internal-key order, is re-encoded with BlockBuilder; the copy must decode to the same entries
// and every entry must be found by Seek.
#include <string>
#include <utility>
#include <vector>

#include "format/block.h"
#include "format/block_builder.h"
#include "format/dbformat.h"
#include "fuzz/fuzz_check.h"

using namespace cloudkv;

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

Status ReadForward(const Block& block, Entries* entries) {
  BlockIter it(&block);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    entries->emplace_back(std::string(it.key()), std::string(it.value()));
  }
  return it.status();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto block = Block::Parse(std::string(fuzz::AsView(data, size)));
  if (!block.ok()) {
    FUZZ_CHECK(block.status().IsCorruption());
    return 0;
  }
  Entries entries;
  Status forward = ReadForward(**block, &entries);
  fuzz::CheckOkOrCorruption(forward);

  // Backward iteration and seeks over whatever the block holds: only the status is checked.
  BlockIter it(block->get());
  size_t steps = 0;
  for (it.SeekToLast(); it.Valid() && steps < 2 * entries.size() + 2; it.Prev()) steps++;
  fuzz::CheckOkOrCorruption(it.status());
  for (size_t i = 0; i < entries.size() && i < 64; i++) {
    if (entries[i].first.size() < 8) continue;
    it.Seek(entries[i].first);
    fuzz::CheckOkOrCorruption(it.status());
    it.SeekForPrev(entries[i].first);
    fuzz::CheckOkOrCorruption(it.status());
  }
  if (!forward.ok() || entries.empty()) return 0;

  for (size_t i = 0; i < entries.size(); i++) {
    if (entries[i].first.size() < 8) return 0;
    if (i > 0 && CompareInternalKeys(entries[i - 1].first, entries[i].first) >= 0) return 0;
  }
  BlockBuilder builder(1 + static_cast<int>(size % 16));
  for (const auto& [key, value] : entries) builder.Add(key, value);
  auto copy = Block::Parse(std::string(builder.Finish()));
  FUZZ_CHECK(copy.ok());
  Entries again;
  FUZZ_CHECK(ReadForward(**copy, &again).ok());
  FUZZ_CHECK(again == entries);
  BlockIter seek(copy->get());
  for (size_t i = 0; i < entries.size() && i < 64; i++) {
    seek.Seek(entries[i].first);
    FUZZ_CHECK(seek.Valid() && seek.key() == entries[i].first);
  }
  return 0;
}
