// SPDX-License-Identifier: Apache-2.0
#include "cloudkv/clock.h"

#include <atomic>
#include <chrono>
#include <thread>

namespace cloudkv {
namespace {

class RealClock final : public Clock {
 public:
  uint64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  uint64_t MonotonicMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void SleepForMicros(uint64_t micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static std::shared_ptr<Clock> clock = std::make_shared<RealClock>();
  return clock;
}

struct ManualClock::State {
  std::atomic<uint64_t> wall;
  std::atomic<uint64_t> mono{0};
};

ManualClock::ManualClock(uint64_t start_micros) : state_(std::make_shared<State>()) {
  state_->wall = start_micros;
}
uint64_t ManualClock::NowMicros() { return state_->wall.load(); }
uint64_t ManualClock::MonotonicMicros() { return state_->mono.load(); }
void ManualClock::SleepForMicros(uint64_t micros) { Advance(micros); }
void ManualClock::Advance(uint64_t micros) {
  state_->wall += micros;
  state_->mono += micros;
}

}  // namespace cloudkv
