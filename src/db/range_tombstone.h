// SPDX-License-Identifier: Apache-2.0
// The fragmented view of range tombstones (DeleteRange; RangeTombstone is in format/dbformat.h).
//
// Tombstones come
// from memtables and SSTs and may overlap arbitrarily. FragmentedRangeTombstoneList splits a
// set of them into non-overlapping, sorted fragments, each carrying the sequence numbers of
// every tombstone that covers it (the idea of RocksDB's FragmentedRangeTombstoneList), so
// "is this key covered at this snapshot" is one binary search.
//
// Reads (Get, DBIterator) use MaxCoveringSeq / Covers. Compaction uses CoveredInSameStripe to
// drop covered point entries and TombstonesForOutput to write the tombstones an output SST
// must keep.
//
// Thread-safety: a FragmentedRangeTombstoneList is immutable after construction and may be
// shared (shared_ptr<const ...>) by any number of threads.
#ifndef CLOUDKV_DB_RANGE_TOMBSTONE_H_
#define CLOUDKV_DB_RANGE_TOMBSTONE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/dbformat.h"  // RangeTombstone

namespace cloudkv {

class FragmentedRangeTombstoneList {
 public:
  // One fragment: [begin, end) is covered by tombstones with these sequence numbers, newest
  // first, without duplicates. Views into the list; valid while it lives.
  struct Fragment {
    std::string_view begin;
    std::string_view end;
    std::span<const SequenceNumber> seqs;
  };

  // An empty list.
  FragmentedRangeTombstoneList() = default;
  // Fragments `tombstones` (any order, overlaps allowed). Tombstones with begin >= end cover
  // nothing and are ignored. Adjacent fragments with the same sequence numbers are merged.
  explicit FragmentedRangeTombstoneList(std::span<const RangeTombstone> tombstones);
  FragmentedRangeTombstoneList(const FragmentedRangeTombstoneList&) = delete;
  FragmentedRangeTombstoneList& operator=(const FragmentedRangeTombstoneList&) = delete;

  bool empty() const { return fragments_.empty(); }
  size_t num_fragments() const { return fragments_.size(); }
  // REQUIRES: i < num_fragments(). Fragments are sorted by begin and do not overlap.
  Fragment fragment(size_t i) const;
  // Index of the fragment containing user_key, or num_fragments() if none does.
  size_t FindFragment(std::string_view user_key) const;

  // The largest sequence <= snapshot of a tombstone covering user_key; 0 if there is none.
  // (Sequence 0 is never a tombstone's: the engine's sequences start at 1.)
  SequenceNumber MaxCoveringSeq(std::string_view user_key, SequenceNumber snapshot) const;
  // True if a tombstone with entry_seq < seq <= snapshot covers user_key, i.e. a reader at
  // `snapshot` must not see the entry (user_key, entry_seq).
  bool Covers(std::string_view user_key, SequenceNumber entry_seq, SequenceNumber snapshot) const {
    return MaxCoveringSeq(user_key, snapshot) > entry_seq;
  }

  // Compaction: snapshots (ascending, the sequences of live snapshots) divide sequences into
  // stripes (0, s1], (s1, s2], ..., (sn, max]; a reader of one stripe sees all of it. True if a
  // tombstone newer than the entry and in the entry's stripe covers it: no reader can see the
  // entry, so compaction may drop it.
  bool CoveredInSameStripe(std::string_view user_key, SequenceNumber entry_seq,
                           std::span<const SequenceNumber> snapshots) const;

  // Compaction: the tombstones an output SST holding user keys in [lower, upper) (nullopt =
  // unbounded) must carry: every fragment clipped to the range, keeping per snapshot stripe
  // only the newest sequence (the older ones of a stripe are invisible to every reader). If
  // bottommost (no data below the output), tombstones in the oldest stripe are dropped too:
  // every entry they cover is in the same stripe and dropped by CoveredInSameStripe. Adjacent
  // pieces are not merged; the result is sorted by (begin, seq descending).
  std::vector<RangeTombstone> TombstonesForOutput(std::span<const SequenceNumber> snapshots,
                                                  bool bottommost,
                                                  const std::optional<std::string>& lower,
                                                  const std::optional<std::string>& upper) const;

  // Bytes held in memory (for pinned-memory accounting).
  size_t memory_bytes() const;

 private:
  struct Piece {
    uint32_t begin;       // index into bounds_
    uint32_t end;         // index into bounds_
    uint32_t seq_offset;  // into seqs_
    uint32_t seq_count;
  };
  std::vector<std::string> bounds_;  // sorted unique begin/end keys
  std::vector<SequenceNumber> seqs_;
  std::vector<Piece> fragments_;
};

// A shared, immutable view; null means "no tombstones".
using RangeTombstoneListPtr = std::shared_ptr<const FragmentedRangeTombstoneList>;

// The largest sequence <= snapshot of a tombstone in any of `lists` covering user_key; 0 if
// none. Null entries are allowed.
SequenceNumber MaxCoveringSeq(std::span<const RangeTombstoneListPtr> lists,
                              std::string_view user_key, SequenceNumber snapshot);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_RANGE_TOMBSTONE_H_
