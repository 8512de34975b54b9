// SPDX-License-Identifier: Apache-2.0
// Version: an immutable view of the LSM shape of one manifest, with an open SstReader for each
// SST (its index and filter pinned). Readers share a Version through shared_ptr; a new Version
// is installed after every manifest commit.
#ifndef CLOUDKV_DB_VERSION_H_
#define CLOUDKV_DB_VERSION_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cloudkv/iterator.h"
#include "cloudkv/object_store.h"
#include "db/manifest.h"
#include "db/range_tombstone.h"
#include "format/dbformat.h"
#include "format/sst_reader.h"

namespace cloudkv {

struct SstFile {
  proto::SstMeta meta;
  std::shared_ptr<SstReader> reader;
  // The reader's range tombstones, fragmented for reads; null if it has none (or if the file
  // is only scanned, as compaction inputs are).
  RangeTombstoneListPtr range_tombstones;
};

// The fragmented range tombstones of an SST; null if it has none.
RangeTombstoneListPtr FragmentRangeTombstones(const SstReader& reader);

struct Version {
  std::vector<std::shared_ptr<SstFile>> l0;                   // newest first
  std::vector<std::vector<std::shared_ptr<SstFile>>> levels;  // levels[0] = L1, sorted by key

  // Point lookup through L0 then each level (newest data first). Stops at the first SST that
  // has a point entry for the key. Raises *max_covering_seq to the largest sequence <=
  // snapshot of a range tombstone covering user_key in the SSTs consulted (which include
  // every SST newer than the entry found that could cover it); the caller decides coverage.
  // fill_cache = false leaves the data blocks it fetches out of the block cache
  // (ReadOptions::fill_cache). cache_only = true makes no object request: the lookup ends with
  // result->state kNotCached at the first block it would fetch.
  Status Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result,
             SequenceNumber* max_covering_seq, bool fill_cache = true,
             bool cache_only = false) const;
  // Appends one iterator per L0 SST and one lazy level iterator per non-empty level (point
  // entries, internal keys) to `out`, newest source first. fill_cache as for Get.
  void AddIterators(std::vector<std::unique_ptr<Iterator>>* out, bool fill_cache = true) const;
  // Appends the fragmented range tombstones of every SST that has any to `out`.
  void AddRangeTombstones(std::vector<RangeTombstoneListPtr>* out) const;
  uint64_t TotalBytes() const;
  uint64_t LevelBytes(int level) const;  // 0 = L0
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_VERSION_H_
