// SPDX-License-Identifier: Apache-2.0
// Clock: the source of time for everything in cloudkv, injected so tests and the protocol
// simulation can run on a manual clock.
//
// Thread-safety: implementations are safe for concurrent use.
#ifndef CLOUDKV_CLOCK_H_
#define CLOUDKV_CLOCK_H_

#include <cstdint>
#include <memory>

namespace cloudkv {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (wall time; used for commit times and object ages).
  virtual uint64_t NowMicros() = 0;
  // Microseconds from an arbitrary start that never goes backwards (used for intervals).
  virtual uint64_t MonotonicMicros() = 0;
  virtual void SleepForMicros(uint64_t micros) = 0;
};

// The real clock. Shared, never null.
std::shared_ptr<Clock> SystemClock();

// A clock that moves only when told. SleepForMicros advances it. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(uint64_t start_micros = 1'700'000'000'000'000ull);
  uint64_t NowMicros() override;
  uint64_t MonotonicMicros() override;
  void SleepForMicros(uint64_t micros) override;
  void Advance(uint64_t micros);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_CLOCK_H_
