// SPDX-License-Identifier: Apache-2.0
#include "db/version.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "db/level_iterator.h"
#include "util/status_macros.h"

namespace cloudkv {

namespace {

// Looks user_key up in one SST whose key range holds it: raises *max_covering_seq by the SST's
// range tombstones, then looks for a point entry.
Status GetFromSst(const SstFile& f, std::string_view user_key, SequenceNumber snapshot,
                  LookupResult* result, SequenceNumber* max_covering_seq, bool fill_cache,
                  bool cache_only) {
  const RangeTombstoneListPtr& tombstones = f.range_tombstones;
  if (tombstones != nullptr) {
    *max_covering_seq = std::max(*max_covering_seq, tombstones->MaxCoveringSeq(user_key, snapshot));
  }
  return f.reader->Get(user_key, snapshot, result, fill_cache, cache_only);
}

bool KeyInRange(const SstFile& f, std::string_view user_key) {
  return user_key >= ExtractUserKey(f.meta.smallest_key()) &&
         user_key <= ExtractUserKey(f.meta.largest_key());
}

}  // namespace

Status Version::Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result,
                    SequenceNumber* max_covering_seq, bool fill_cache, bool cache_only) const {
  assert(max_covering_seq != nullptr);
  for (const auto& f : l0) {
    if (!KeyInRange(*f, user_key)) continue;
    RETURN_IF_ERROR(
        GetFromSst(*f, user_key, snapshot, result, max_covering_seq, fill_cache, cache_only));
    if (result->state != LookupState::kNotPresent) return Status::OK();
  }
  for (const auto& level : levels) {
    // The first SST whose largest user key >= user_key. The next SSTs may hold user_key too:
    // an SST's largest key can be the exclusive end of a range tombstone, equal to the next
    // SST's smallest user key.
    auto it = std::lower_bound(level.begin(), level.end(), user_key,
                               [](const std::shared_ptr<SstFile>& f, std::string_view k) {
                                 return ExtractUserKey(f->meta.largest_key()) < k;
                               });
    for (; it != level.end() && KeyInRange(**it, user_key); ++it) {
      RETURN_IF_ERROR(
          GetFromSst(**it, user_key, snapshot, result, max_covering_seq, fill_cache, cache_only));
      if (result->state != LookupState::kNotPresent) return Status::OK();
    }
  }
  result->state = LookupState::kNotPresent;
  return Status::OK();
}

void Version::AddRangeTombstones(std::vector<RangeTombstoneListPtr>* out) const {
  for (const auto& f : l0) {
    if (f->range_tombstones) out->push_back(f->range_tombstones);
  }
  for (const auto& level : levels) {
    for (const auto& f : level) {
      if (f->range_tombstones) out->push_back(f->range_tombstones);
    }
  }
}

void Version::AddIterators(std::vector<std::unique_ptr<Iterator>>* out, bool fill_cache) const {
  for (const auto& f : l0) out->push_back(f->reader->NewIterator(fill_cache));
  for (const auto& level : levels) {
    if (!level.empty()) out->push_back(NewLevelIterator(level, fill_cache));
  }
}

uint64_t Version::LevelBytes(int level) const {
  uint64_t total = 0;
  const auto& files = level == 0 ? l0 : levels[level - 1];
  for (const auto& f : files) total += f->meta.size_bytes();
  return total;
}

uint64_t Version::TotalBytes() const {
  uint64_t total = 0;
  for (int i = 0; i <= static_cast<int>(levels.size()); i++) total += LevelBytes(i);
  return total;
}

RangeTombstoneListPtr FragmentRangeTombstones(const SstReader& reader) {
  if (reader.range_tombstones().empty()) return nullptr;
  return std::make_shared<const FragmentedRangeTombstoneList>(reader.range_tombstones());
}

}  // namespace cloudkv
