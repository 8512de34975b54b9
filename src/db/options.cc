// SPDX-License-Identifier: Apache-2.0
// Options::Validate: the ranges DB::Open checks before it touches the store.
#include "cloudkv/options.h"

#include <cmath>
#include <string>

namespace cloudkv {
namespace {

// One part of the disk cache (DiskCacheOptions::part_bytes' default).
constexpr uint64_t kMinDiskCacheBytes = 1ull << 20;

// InvalidArgument "Options::<field> = <value>: <rule>".
template <typename T>
Status Bad(std::string_view field, T value, std::string_view rule) {
  return Status::InvalidArgument("Options::" + std::string(field) + " = " + std::to_string(value) +
                                 ": " + std::string(rule));
}

}  // namespace

Status Options::Validate() const {
  // Memory bounds.
  if (memtable_bytes < 4096) return Bad("memtable_bytes", memtable_bytes, "must be >= 4096");
  if (max_immutable_memtables < 1) {
    return Bad("max_immutable_memtables", max_immutable_memtables, "must be >= 1");
  }
  if (max_key_bytes < 1) return Bad("max_key_bytes", max_key_bytes, "must be >= 1");
  if (max_batch_bytes < 1) return Bad("max_batch_bytes", max_batch_bytes, "must be >= 1");

  // WAL.
  if (std::isnan(max_wal_puts_per_second)) {
    return Bad("max_wal_puts_per_second", max_wal_puts_per_second,
               "must be a number (0 = no cap, negative = the store's default)");
  }
  if (max_inflight_wal_uploads.has_value() && *max_inflight_wal_uploads < 1) {
    return Bad("max_inflight_wal_uploads", *max_inflight_wal_uploads,
               "must be >= 1 (or unset for the store's default)");
  }
  if (wal_upload_max_attempts < 0) {
    return Bad("wal_upload_max_attempts", wal_upload_max_attempts,
               "must be >= 0 (0 = retry until fenced or closed)");
  }

  // SSTs.
  if (block_size < 256) return Bad("block_size", block_size, "must be >= 256");
  if (compression != Compression::kNone && compression != Compression::kLz4 &&
      compression != Compression::kZstd) {
    return Bad("compression", static_cast<int>(compression), "must be kNone, kLz4 or kZstd");
  }

  // Disk cache.
  if (!disk_cache_dir.empty()) {
    if (disk_cache != nullptr) {
      return Status::InvalidArgument("Options::disk_cache_dir = '" + disk_cache_dir +
                                     "': not allowed together with Options::disk_cache");
    }
    if (disk_cache_bytes < kMinDiskCacheBytes) {
      return Bad("disk_cache_bytes", disk_cache_bytes,
                 "must be >= " + std::to_string(kMinDiskCacheBytes) +
                     " (one part) when disk_cache_dir is set");
    }
  }

  // Compaction and backpressure.
  if (num_levels < 2 || num_levels > 64) return Bad("num_levels", num_levels, "must be in 2..64");
  if (l0_compaction_trigger < 1) {
    return Bad("l0_compaction_trigger", l0_compaction_trigger, "must be >= 1");
  }
  if (l0_slowdown_writes_trigger < 1) {
    return Bad("l0_slowdown_writes_trigger", l0_slowdown_writes_trigger, "must be >= 1");
  }
  if (l0_stop_writes_trigger < 1) {
    return Bad("l0_stop_writes_trigger", l0_stop_writes_trigger, "must be >= 1");
  }
  if (level_size_ratio < 2) return Bad("level_size_ratio", level_size_ratio, "must be >= 2");
  if (target_sst_bytes == 0) return Bad("target_sst_bytes", target_sst_bytes, "must be > 0");
  if (level1_target_bytes == 0) {
    return Bad("level1_target_bytes", level1_target_bytes, "must be > 0");
  }
  if (max_subcompactions < 1) return Bad("max_subcompactions", max_subcompactions, "must be >= 1");
  if (max_parallel_reads < 1) return Bad("max_parallel_reads", max_parallel_reads, "must be >= 1");

  // Database settings. GC would delete SSTs whose commit is still on its way, and readers could
  // not tell which manifests GC may have pruned (docs/engine.md, "Garbage collection").
  if (gc_min_age_ms <= max_clock_skew_ms) {
    return Bad("gc_min_age_ms", gc_min_age_ms,
               "must exceed max_clock_skew_ms (" + std::to_string(max_clock_skew_ms) + ")");
  }
  return Status::OK();
}

}  // namespace cloudkv
