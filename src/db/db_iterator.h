// The DB iterator: turns an iterator over internal keys (usually a merging iterator over all
// sources) into the user-visible iterator of DB::NewIterator.
//
// It shows, for each user key, the newest entry with sequence <= snapshot, and hides the key if
// that entry is a deletion. key() is the user key. Bounds: lower_bound inclusive, upper_bound
// exclusive; a Seek below the lower bound starts at the lower bound; SeekToLast with an upper
// bound starts at the last key below it.
//
// Range deletions (kTypeRangeDeletion entries) are skipped but not yet honoured: keys they
// cover stay visible. Honouring them belongs to the range-delete work, which plugs a tombstone
// check into DBIterator's single visibility decision (see db_iterator.cc, IsCoveredByRange).
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

#include "cloudkv/iterator.h"
#include "db/dbformat.h"

namespace cloudkv {

// Takes ownership of `internal`. REQUIRES: snapshot <= kMaxSequenceNumber.
std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal, SequenceNumber snapshot,
                                        std::optional<std::string> lower_bound,
                                        std::optional<std::string> upper_bound);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_DB_ITERATOR_H_
