// SPDX-License-Identifier: Apache-2.0
// The DB iterator: turns an iterator over internal keys (usually a merging iterator over all
// sources) into the user-visible iterator of DB::NewIterator.
//
// It shows, for each user key, the newest entry with sequence <= snapshot, and hides the key if
// that entry is a deletion. key() is the user key. Bounds: lower_bound inclusive, upper_bound
// exclusive; a Seek below the lower bound starts at the lower bound; SeekToLast with an upper
// bound starts at the last key below it.
//
// Range tombstones come as fragmented lists (one per source that has any, see
// db/range_tombstone.h): an entry is hidden if a tombstone newer than it and visible at the
// snapshot covers its user key, exactly as a newer point deletion would hide it. Range
// deletion entries met in the internal iterator itself (none from memtables or SSTs) are
// skipped.
//
// Errors: a corrupt internal key or an error of the internal iterator makes the iterator
// invalid with a non-OK status().
//
// Thread-safety: as for any Iterator.
#ifndef CLOUDKV_DB_DB_ITERATOR_H_
#define CLOUDKV_DB_DB_ITERATOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloudkv/iterator.h"
#include "db/range_tombstone.h"
#include "format/dbformat.h"

namespace cloudkv {

// Takes ownership of `internal` and shares the tombstone lists (null entries allowed).
// REQUIRES: snapshot <= kMaxSequenceNumber.
std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal, SequenceNumber snapshot,
                                        std::optional<std::string> lower_bound,
                                        std::optional<std::string> upper_bound,
                                        std::vector<RangeTombstoneListPtr> range_tombstones = {});

}  // namespace cloudkv

#endif  // CLOUDKV_DB_DB_ITERATOR_H_
