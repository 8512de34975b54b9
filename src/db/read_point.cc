// SPDX-License-Identifier: Apache-2.0
// ReadPoint: parsing and printing the points of time travel (include/cloudkv/read_point.h).
#include "cloudkv/read_point.h"

#include <cinttypes>
#include <cstdio>
#include <limits>

namespace cloudkv {
namespace {

constexpr uint64_t kMicrosPerSecond = 1'000'000;
constexpr uint64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits from the front of `*in`.
bool TakeDigits(std::string_view* in, size_t n, int64_t* out) {
  if (in->size() < n) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!IsDigit((*in)[i])) return false;
    v = v * 10 + ((*in)[i] - '0');
  }
  in->remove_prefix(n);
  *out = v;
  return true;
}

bool TakeChar(std::string_view* in, char c) {
  if (in->empty() || in->front() != c) return false;
  in->remove_prefix(1);
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse, counting
// 400-year eras from March 1st so that the leap day ends a year).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

Result<uint64_t> ParseRfc3339(std::string_view text) {
  std::string_view in = text;
  int64_t y, mo, d, h, mi, s = 0, frac = 0;
  auto bad = [&](const char* what) {
    return Status::InvalidArgument("time '" + std::string(text) + "': " + what +
                                   " (expected e.g. 2026-11-23T20:15:03.120Z)");
  };
  if (!TakeDigits(&in, 4, &y) || !TakeChar(&in, '-') || !TakeDigits(&in, 2, &mo) ||
      !TakeChar(&in, '-') || !TakeDigits(&in, 2, &d)) {
    return bad("not a date YYYY-MM-DD");
  }
  if (!TakeChar(&in, 'T') && !TakeChar(&in, 't') && !TakeChar(&in, ' ')) {
    return bad("no 'T' between date and time");
  }
  if (!TakeDigits(&in, 2, &h) || !TakeChar(&in, ':') || !TakeDigits(&in, 2, &mi)) {
    return bad("not a time HH:MM");
  }
  if (TakeChar(&in, ':')) {
    if (!TakeDigits(&in, 2, &s)) return bad("bad seconds");
    if (TakeChar(&in, '.')) {
      size_t n = 0;
      while (n < in.size() && IsDigit(in[n])) n++;
      if (n == 0 || n > 9) return bad("1 to 9 fraction digits expected");
      std::string_view digits = in.substr(0, n);
      in.remove_prefix(n);
      for (size_t i = 0; i < 6; i++) frac = frac * 10 + (i < digits.size() ? digits[i] - '0' : 0);
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || s > 60) {
    return bad("a field is out of range");
  }
  int64_t offset_seconds = 0;
  if (TakeChar(&in, 'Z') || TakeChar(&in, 'z')) {
  } else if (!in.empty() && (in.front() == '+' || in.front() == '-')) {
    const int64_t sign = in.front() == '-' ? -1 : 1;
    in.remove_prefix(1);
    int64_t oh, om;
    if (!TakeDigits(&in, 2, &oh) || !TakeChar(&in, ':') || !TakeDigits(&in, 2, &om) || oh > 23 ||
        om > 59) {
      return bad("bad UTC offset (+HH:MM)");
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return bad("no time zone ('Z' or +HH:MM)");
  }
  if (!in.empty()) return bad("trailing characters");
  const int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_seconds;
  if (seconds < 0) return bad("before 1970");
  return static_cast<uint64_t>(seconds) * kMicrosPerSecond + static_cast<uint64_t>(frac);
}

Result<uint64_t> ParseUnsigned(std::string_view digits, std::string_view what) {
  if (digits.empty() || digits.size() > 19) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(digits) +
                                   "': not a number");
  }
  uint64_t v = 0;
  for (char c : digits) {
    if (!IsDigit(c)) {
      return Status::InvalidArgument(std::string(what) + " '" + std::string(digits) +
                                     "': not a number");
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

Result<uint64_t> ReadPoint::ParseDurationMicros(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("duration '" + std::string(text) +
                                   "': expected groups like 6h, 30m, 90s, 250ms, 2d (or a number "
                                   "of milliseconds)");
  };
  if (text.empty()) return bad();
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    auto ms = ParseUnsigned(text, "duration");
    if (!ms.ok() || *ms > std::numeric_limits<uint64_t>::max() / 1000) return bad();
    return *ms * 1000;
  }
  std::string_view in = text;
  uint64_t total = 0;
  while (!in.empty()) {
    size_t n = 0;
    while (n < in.size() && IsDigit(in[n])) n++;
    if (n == 0 || n > 12) return bad();
    const uint64_t count = *ParseUnsigned(in.substr(0, n), "duration");
    in.remove_prefix(n);
    uint64_t unit;
    if (in.starts_with("ms")) {
      unit = 1000, in.remove_prefix(2);
    } else if (in.starts_with("us")) {
      unit = 1, in.remove_prefix(2);
    } else if (in.starts_with("d")) {
      unit = kMicrosPerDay, in.remove_prefix(1);
    } else if (in.starts_with("h")) {
      unit = 3600 * kMicrosPerSecond, in.remove_prefix(1);
    } else if (in.starts_with("m")) {
      unit = 60 * kMicrosPerSecond, in.remove_prefix(1);
    } else if (in.starts_with("s")) {
      unit = kMicrosPerSecond, in.remove_prefix(1);
    } else {
      return bad();
    }
    if (count > (std::numeric_limits<uint64_t>::max() - total) / unit) return bad();
    total += count * unit;
  }
  return total;
}

Result<ReadPoint> ReadPoint::Parse(std::string_view text, uint64_t now_micros) {
  if (text.starts_with("seq:")) {
    auto seq = ParseUnsigned(text.substr(4), "sequence");
    if (!seq.ok()) return seq.status();
    return AtSequence(*seq);
  }
  if (text.starts_with("checkpoint:")) {
    if (text.size() == 11) return Status::InvalidArgument("checkpoint point with no name");
    return AtCheckpoint(std::string(text.substr(11)));
  }
  if (text.starts_with("-")) {
    auto ago = ParseDurationMicros(text.substr(1));
    if (!ago.ok()) return ago.status();
    if (*ago > now_micros) {
      return Status::InvalidArgument("point '" + std::string(text) + "' is before 1970");
    }
    return AtTime(now_micros - *ago);
  }
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    auto ms = ParseUnsigned(text, "Unix milliseconds");
    if (!ms.ok()) return ms.status();
    if (*ms > std::numeric_limits<uint64_t>::max() / 1000) {
      return Status::InvalidArgument("Unix milliseconds '" + std::string(text) + "' too large");
    }
    return AtTime(*ms * 1000);
  }
  if (text.size() >= 10 && IsDigit(text[0]) && text[4] == '-') {
    auto micros = ParseRfc3339(text);
    if (!micros.ok()) return micros.status();
    return AtTime(*micros);
  }
  return Status::InvalidArgument(
      "point '" + std::string(text) +
      "': expected a time (2026-11-23T20:15:03.120Z, Unix milliseconds, or -10m), seq:N or "
      "checkpoint:NAME");
}

std::string ReadPoint::FormatTime(uint64_t unix_micros) {
  const int64_t days = static_cast<int64_t>(unix_micros / kMicrosPerDay);
  const uint64_t in_day = unix_micros % kMicrosPerDay;
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  const uint64_t secs = in_day / kMicrosPerSecond;
  char buf[64];
  std::snprintf(buf, sizeof(buf),
                "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64
                ".%06" PRIu64 "Z",
                y, m, d, secs / 3600, secs / 60 % 60, secs % 60, in_day % kMicrosPerSecond);
  return buf;
}

std::string ReadPoint::ToString() const {
  switch (kind_) {
    case Kind::kTime:
      return FormatTime(value_);
    case Kind::kSequence:
      return "sequence " + std::to_string(value_);
    case Kind::kCheckpoint:
      return "checkpoint '" + name_ + "'";
  }
  return "?";
}

}  // namespace cloudkv
