// SPDX-License-Identifier: Apache-2.0
#include "util/logging.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace cloudkv {

LogLevel CurrentLogLevel() {
  static const LogLevel level = [] {
    const char* env = std::getenv("CLOUDKV_LOG_LEVEL");
    if (env == nullptr) return LogLevel::kWarn;
    if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
    if (std::strcmp(env, "info") == 0) return LogLevel::kInfo;
    if (std::strcmp(env, "error") == 0) return LogLevel::kError;
    return LogLevel::kWarn;
  }();
  return level;
}

void LogLine(LogLevel level, std::string_view message) {
  static std::mutex mu;
  static const char* const kNames[] = {"D", "I", "W", "E"};
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "cloudkv %s %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace cloudkv
