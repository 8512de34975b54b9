// SPDX-License-Identifier: Apache-2.0
// CompactionFilter: lets an application remove values during compaction, e.g. values whose
// time-to-live has passed (docs/design.md §9).
//
// Compaction calls Filter for the newest version of a key when no live snapshot can see that
// version (a version a snapshot reads is never filtered, so snapshots keep their view). A
// kRemove decision does not simply drop the entry: it is replaced by a tombstone with the same
// sequence number, because dropping it would resurrect an older version stored in a lower
// level. The tombstone itself disappears once it reaches the bottom level, like any other.
// Tombstones are never passed to the filter.
//
// Thread-safety: Filter is called from several compaction threads at once and must be
// thread-safe. It must be quick, deterministic for a given (key, value, now) and must not call
// back into the database.
#ifndef CLOUDKV_COMPACTION_FILTER_H_
#define CLOUDKV_COMPACTION_FILTER_H_

#include <cstdint>
#include <string_view>

namespace cloudkv {

class CompactionFilter {
 public:
  enum class Decision : uint8_t {
    kKeep,    // write the entry unchanged
    kRemove,  // replace the entry with a tombstone
  };

  virtual ~CompactionFilter() = default;

  // Decides the fate of one value. `now_micros` is the wall time (Options::clock) at which the
  // compaction job started; the same for every entry of a job.
  virtual Decision Filter(std::string_view user_key, std::string_view value,
                          uint64_t now_micros) const = 0;

  // A name for logs.
  virtual const char* Name() const = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_COMPACTION_FILTER_H_
