// SPDX-License-Identifier: Apache-2.0
// A level iterator: one iterator over all SSTs of a sorted, non-overlapping level (L1..Ln), in
// internal-key order. It opens the iterator of one SST at a time, on demand, so a read that
// touches one key range of a level with thousands of SSTs opens (and reads blocks of) only the
// SSTs it crosses, and the merging iterator above has one child per level, not one per SST.
//
// Errors: the current SST iterator's status; the iterator is then invalid (as every Iterator).
// Thread-safety: as for any Iterator (one thread at a time).
#ifndef CLOUDKV_DB_LEVEL_ITERATOR_H_
#define CLOUDKV_DB_LEVEL_ITERATOR_H_

#include <memory>
#include <vector>

#include "cloudkv/iterator.h"
#include "db/version.h"

namespace cloudkv {

// REQUIRES: `files` sorted by key and non-overlapping (as a Version's levels). fill_cache
// false reads blocks without inserting them into the block cache (compaction scans).
// scan_readahead_bytes is passed to each SST iterator (see SstReader::NewIterator).
std::unique_ptr<Iterator> NewLevelIterator(std::vector<std::shared_ptr<SstFile>> files,
                                           bool fill_cache = true, size_t scan_readahead_bytes = 0);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_LEVEL_ITERATOR_H_
