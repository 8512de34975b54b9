// SPDX-License-Identifier: Apache-2.0
// ReadPoint: a moment in a database's history to read at (docs/time-travel.md): a wall-clock
// time, a sequence number, or a named checkpoint. DB::OpenAt opens a read-only view at one, and
// ReadOptions::as_of serves a single read or iterator from one.
//
// The state at a point is defined by the database's history, the writes recovery keeps (every
// acknowledged write, and any write a recovery adopted; never a fenced writer's late upload):
//   time T       every write of the history whose commit time is <= T (microseconds since the
//                Unix epoch, as assigned by the writer that applied it);
//   sequence S   every write of the history with sequence number <= S (as a Snapshot at S);
//   checkpoint   the state the checkpoint captured when it was created (DB::CreateCheckpoint).
//
// Thread-safety: a ReadPoint is a plain value.
#ifndef CLOUDKV_READ_POINT_H_
#define CLOUDKV_READ_POINT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "cloudkv/status.h"

namespace cloudkv {

class ReadPoint {
 public:
  enum class Kind : uint8_t { kTime, kSequence, kCheckpoint };

  static ReadPoint AtTime(uint64_t unix_micros) { return ReadPoint(Kind::kTime, unix_micros, {}); }
  static ReadPoint AtSequence(uint64_t sequence) {
    return ReadPoint(Kind::kSequence, sequence, {});
  }
  static ReadPoint AtCheckpoint(std::string name) {
    return ReadPoint(Kind::kCheckpoint, 0, std::move(name));
  }

  // Parses the spellings of the command line (docs/cli.md):
  //   2026-11-23T20:15:03.120Z   RFC 3339 / ISO 8601 in UTC ('Z') or with an offset (+02:00),
  //                              seconds optional, up to 6 fraction digits
  //   1763928903120              Unix milliseconds (all digits)
  //   -10m, -90s, -1h30m, -2d    relative to `now_micros` (units d, h, m, s, ms, us)
  //   seq:1234                   a sequence number
  //   checkpoint:NAME            a checkpoint
  // InvalidArgument (naming the text and what was expected) for anything else.
  static Result<ReadPoint> Parse(std::string_view text, uint64_t now_micros);

  // Parses a duration: one or more <number><unit> groups, units d, h, m, s, ms, us (e.g. "6h",
  // "1h30m", "250ms"), or a bare number of milliseconds. InvalidArgument otherwise.
  static Result<uint64_t> ParseDurationMicros(std::string_view text);

  // "2026-11-23T20:15:03.120000Z", "sequence 1234" or "checkpoint 'NAME'".
  std::string ToString() const;
  // RFC 3339 in UTC with microseconds, e.g. "2026-11-23T20:15:03.120000Z".
  static std::string FormatTime(uint64_t unix_micros);

  Kind kind() const { return kind_; }
  // REQUIRES: kind() == kTime.
  uint64_t time_micros() const { return value_; }
  // REQUIRES: kind() == kSequence.
  uint64_t sequence() const { return value_; }
  // REQUIRES: kind() == kCheckpoint.
  const std::string& checkpoint() const { return name_; }

  bool operator==(const ReadPoint& other) const = default;

 private:
  ReadPoint(Kind kind, uint64_t value, std::string name)
      : kind_(kind), value_(value), name_(std::move(name)) {}

  Kind kind_;
  uint64_t value_;
  std::string name_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_READ_POINT_H_
