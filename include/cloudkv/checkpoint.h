// SPDX-License-Identifier: Apache-2.0
// Checkpoints: named pins of a database's state (docs/time-travel.md). A checkpoint keeps the
// objects its state needs beyond the history window, until it is deleted or expires; read it
// with DB::OpenAt(url, ReadPoint::AtCheckpoint(name), ...) or ReadOptions::as_of.
//
// Created, listed and deleted by DB::CreateCheckpoint, ListCheckpoints and DeleteCheckpoint
// (db.h). Thread-safety: CheckpointInfo is a plain value.
#ifndef CLOUDKV_CHECKPOINT_H_
#define CLOUDKV_CHECKPOINT_H_

#include <cstdint>
#include <string>

namespace cloudkv {

struct CheckpointInfo {
  std::string name;
  std::string id;  // unique; names the pinned manifest's copy, checkpoint/<id>.manifest
  uint64_t manifest_version = 0;    // the manifest whose SSTs the checkpoint reads
  uint64_t sequence = 0;            // the state includes every write with sequence <= this
  uint64_t create_time_micros = 0;  // wall time of creation (Unix microseconds)
  uint64_t expire_time_micros = 0;  // 0 = never expires
};

// The settings stored in a database's manifest, which every process honours (docs/design.md
// §3). Only history_retention can be changed after creation (DB::SetHistoryRetention).
struct DbSettings {
  uint64_t history_retention_micros = 0;
  uint64_t gc_min_age_micros = 0;
  uint64_t max_clock_skew_micros = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_CHECKPOINT_H_
