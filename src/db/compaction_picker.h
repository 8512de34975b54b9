// SPDX-License-Identifier: Apache-2.0
// The compaction picker: chooses the next job from a manifest's LSM shape (docs/design.md §9).
//
// Leveled scoring: L0 scores (number of L0 SSTs) / l0_compaction_trigger; Ln (1 <= n < last)
// scores bytes(Ln) / (level1_target_bytes * level_size_ratio^(n-1)); the last level never
// compacts. The highest score >= 1 wins, except that L0 wins whenever it has reached
// l0_slowdown_writes_trigger / 2 SSTs and is eligible (writes are about to be slowed down).
//
// An L0 job takes every L0 SST (the oldest contiguous run is then the whole of L0) plus the L1
// SSTs they overlap. An Ln job takes the one SST whose overlap with L(n+1) is smallest relative
// to its size (RocksDB's kMinOverlappingRatio: least rewriting per byte moved down) plus that
// overlap. A job whose inputs overlap nothing in the output level (for L0: nor each other) is a
// trivial move: a manifest-only edit.
//
// The picker is a pure function of the manifest and the options; the caller fills in the
// snapshots, deadline and subcompaction count.
#ifndef CLOUDKV_DB_COMPACTION_PICKER_H_
#define CLOUDKV_DB_COMPACTION_PICKER_H_

#include <optional>
#include <vector>

#include "cloudkv/options.h"
#include "db/compaction.h"
#include "db/manifest.h"

namespace cloudkv {

// The levels to consider: options.num_levels, or more if the manifest has more (a database
// written with a larger num_levels). Data below the configured last level is never ignored:
// a tombstone may only be dropped where nothing lies below it.
int EffectiveNumLevels(const Manifest& manifest, const Options& options);

// Level n's target size (n >= 1).
uint64_t LevelTargetBytes(const Options& options, int level);

// Scores of L0 .. L(num_levels-2) (see the file comment). The last level has none.
std::vector<double> CompactionScores(const Manifest& manifest, const Options& options);

// The next job, or nullopt when no level scores >= 1.
std::optional<CompactionSpec> PickCompaction(const Manifest& manifest, const Options& options);

// A job moving all of `level` into level + 1 (used by CompactAll), or nullopt if it is empty.
// REQUIRES: 0 <= level < num_levels - 1.
std::optional<CompactionSpec> PickWholeLevel(const Manifest& manifest, const Options& options,
                                             int level);

// A job rewriting the whole last level in place (dropping what no snapshot needs there), or
// nullopt if it is empty. CompactAll uses it when every SST is already in the last level.
std::optional<CompactionSpec> PickLastLevelRewrite(const Manifest& manifest,
                                                   const Options& options);

// An estimate of the bytes compaction must still rewrite to bring every level under its target:
// all of L0 when it is eligible, plus for each level over target the excess times (1 + ratio)
// (the excess is rewritten together with about `ratio` times as many bytes of the next level).
uint64_t EstimatePendingCompactionBytes(const Manifest& manifest, const Options& options);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_COMPACTION_PICKER_H_
