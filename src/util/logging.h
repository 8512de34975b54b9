// SPDX-License-Identifier: Apache-2.0
// Minimal leveled logging to stderr, formatted with fmt. CLOUDKV_LOG_LEVEL=debug|info|warn|error
// (default warn) selects what is printed.
#ifndef CLOUDKV_UTIL_LOGGING_H_
#define CLOUDKV_UTIL_LOGGING_H_

#include <fmt/core.h>

#include <string_view>

namespace cloudkv {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

LogLevel CurrentLogLevel();
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < CurrentLogLevel()) return;
  LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace cloudkv

#define LOG_DEBUG(...) ::cloudkv::Log(::cloudkv::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) ::cloudkv::Log(::cloudkv::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) ::cloudkv::Log(::cloudkv::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) ::cloudkv::Log(::cloudkv::LogLevel::kError, __VA_ARGS__)

#endif  // CLOUDKV_UTIL_LOGGING_H_
