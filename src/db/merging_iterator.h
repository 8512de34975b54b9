// SPDX-License-Identifier: Apache-2.0
// A merging iterator: the union of several internal-key iterators in CompareInternalKeys order.
//
// Children are given newest source first (memtable, immutable memtables, L0 newest first,
// levels). If two children hold the same internal key, both entries are yielded, the one from
// the earlier child first, so the order is total and direction changes are exact.
//
// Errors: when a child stops with a non-OK status, the merging iterator becomes invalid and
// status() returns that child's status (the first one met), until the next Seek*.
//
// Thread-safety: as for any Iterator (one thread at a time).
#ifndef CLOUDKV_DB_MERGING_ITERATOR_H_
#define CLOUDKV_DB_MERGING_ITERATOR_H_

#include <memory>
#include <vector>

#include "cloudkv/iterator.h"

namespace cloudkv {

// Takes ownership of the children. Zero children give an always-empty iterator, one child is
// returned as is.
std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_MERGING_ITERATOR_H_
