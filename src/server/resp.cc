// SPDX-License-Identifier: Apache-2.0
// RESP parsing and encoding. Grammar accepted (Redis protocol spec):
//   command   := '*' count CRLF ( '$' len CRLF bytes CRLF ){count}  |  inline-line ('\n')
//   count     := decimal, 1 .. max_multibulk_count (<= 0 is an empty command)
//   len       := decimal, 0 .. max_bulk_bytes
#include "server/resp.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace cloudkv::server {
namespace {

// Parses a decimal integer (optional '-') that fills all of `s`.
bool ParseDecimal(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// The common case of a length line, "<digits>\r\n" at data[from..]: on success sets *value
// (at most 18 digits, no sign) and *end to the position after the CRLF. False for anything
// else (a sign, a non-digit, too many digits, an incomplete line): the caller then takes the
// general path, which gives the exact error or asks for more input.
bool ParseLengthFast(std::string_view data, size_t from, int64_t* value, size_t* end) {
  size_t i = from;
  int64_t v = 0;
  const size_t limit = std::min(data.size(), from + 18);
  while (i < limit && data[i] >= '0' && data[i] <= '9') {
    v = v * 10 + (data[i] - '0');
    i++;
  }
  if (i == from || i + 1 >= data.size() || data[i] != '\r' || data[i + 1] != '\n') return false;
  // Like ParseDecimal via from_chars: leading zeros are accepted.
  *value = v;
  *end = i + 2;
  return true;
}

// Finds "\r\n" at or after `from`; returns npos if absent.
size_t FindCrlf(std::string_view data, size_t from) {
  size_t at = data.find('\r', from);
  while (at != std::string_view::npos) {
    if (at + 1 >= data.size()) return std::string_view::npos;
    if (data[at + 1] == '\n') return at;
    at = data.find('\r', at + 1);
  }
  return at;
}

// Splits an inline command like Redis's sdssplitargs: spaces separate, "..." with \x escapes
// and '...' quote. Returns false on unbalanced quotes.
bool SplitInline(std::string_view line, std::vector<std::string>* out) {
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    if (i >= line.size()) return true;
    std::string arg;
    bool in_double = false, in_single = false;
    while (true) {
      if (in_double) {
        if (i >= line.size()) return false;
        char c = line[i];
        if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(line[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(line[i + 3]))) {
          arg.push_back(
              static_cast<char>(std::stoi(std::string(line.substr(i + 2, 2)), nullptr, 16)));
          i += 4;
          continue;
        }
        if (c == '\\' && i + 1 < line.size()) {
          char n = line[i + 1];
          arg.push_back(n == 'n'   ? '\n'
                        : n == 'r' ? '\r'
                        : n == 't' ? '\t'
                        : n == 'b' ? '\b'
                        : n == 'a' ? '\a'
                                   : n);
          i += 2;
          continue;
        }
        if (c == '"') {
          i++;
          if (i < line.size() && line[i] != ' ' && line[i] != '\t') return false;
          break;
        }
        arg.push_back(c);
        i++;
      } else if (in_single) {
        if (i >= line.size()) return false;
        char c = line[i];
        if (c == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          arg.push_back('\'');
          i += 2;
          continue;
        }
        if (c == '\'') {
          i++;
          if (i < line.size() && line[i] != ' ' && line[i] != '\t') return false;
          break;
        }
        arg.push_back(c);
        i++;
      } else {
        if (i >= line.size()) break;
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') break;
        if (c == '"' && arg.empty()) {
          in_double = true;
        } else if (c == '\'' && arg.empty()) {
          in_single = true;
        } else {
          arg.push_back(c);
        }
        i++;
      }
    }
    out->push_back(std::move(arg));
  }
}

}  // namespace

RespParser::Outcome RespParser::ParseInline(std::string_view data, size_t* pos,
                                            std::vector<std::string>* args, std::string* error) {
  size_t nl = data.find('\n', *pos);
  if (nl == std::string_view::npos) {
    if (data.size() - *pos > limits_.max_inline_bytes) {
      *error = "ERR Protocol error: too big inline request";
      return Outcome::kError;
    }
    return Outcome::kNeedMore;
  }
  if (nl - *pos > limits_.max_inline_bytes) {
    *error = "ERR Protocol error: too big inline request";
    return Outcome::kError;
  }
  std::string_view line = data.substr(*pos, nl - *pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  args->clear();
  if (!SplitInline(line, args)) {
    *error = "ERR Protocol error: unbalanced quotes in request";
    return Outcome::kError;
  }
  *pos = nl + 1;
  return Outcome::kCommand;
}

void RespParser::BeginMultibulk(int64_t count) {
  assert(count > 0);
  in_multibulk_ = true;
  remaining_ = count;
  bulk_len_ = -1;
  filled_ = 0;
  partial_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  pending_bytes_ = 0;
  parsed_bytes_ = 0;
}

RespParser::Outcome RespParser::Parse(std::string_view data, size_t* pos,
                                      std::vector<std::string>* args, std::string* error) {
  assert(*pos <= data.size());
  if (!in_multibulk_) {
    if (*pos >= data.size()) return Outcome::kNeedMore;
    if (data[*pos] != '*') return ParseInline(data, pos, args, error);
    int64_t fast_count = 0;
    size_t fast_end = 0;
    if (ParseLengthFast(data, *pos + 1, &fast_count, &fast_end) && fast_count > 0 &&
        fast_count <= static_cast<int64_t>(MaxMultibulkCount())) {
      *pos = fast_end;
      BeginMultibulk(fast_count);
    }
  }
  if (!in_multibulk_) {
    size_t crlf = FindCrlf(data, *pos);
    if (crlf == std::string_view::npos) {
      if (data.size() - *pos > limits_.max_inline_bytes) {
        *error = "ERR Protocol error: too big mbulk count string";
        return Outcome::kError;
      }
      return Outcome::kNeedMore;
    }
    int64_t count = 0;
    if (!ParseDecimal(data.substr(*pos + 1, crlf - *pos - 1), &count) ||
        count > static_cast<int64_t>(limits_.max_multibulk_count)) {
      *error = "ERR Protocol error: invalid multibulk length";
      return Outcome::kError;
    }
    if (count > static_cast<int64_t>(MaxMultibulkCount())) {
      *error = "ERR Protocol error: unauthenticated multibulk length";
      return Outcome::kError;
    }
    *pos = crlf + 2;
    if (count <= 0) {
      args->clear();
      return Outcome::kCommand;
    }
    BeginMultibulk(count);
  }
  while (remaining_ > 0) {
    if (bulk_len_ < 0) {
      if (*pos >= data.size()) return Outcome::kNeedMore;
      if (data[*pos] != '$') {
        *error = std::string("ERR Protocol error: expected '$', got '") + data[*pos] + "'";
        return Outcome::kError;
      }
      int64_t fast_len = 0;
      size_t fast_end = 0;
      if (ParseLengthFast(data, *pos + 1, &fast_len, &fast_end) &&
          static_cast<uint64_t>(fast_len) <= MaxBulkBytes()) {
        bulk_len_ = fast_len;
        *pos = fast_end;
      }
    }
    if (bulk_len_ < 0) {
      size_t crlf = FindCrlf(data, *pos);
      if (crlf == std::string_view::npos) {
        if (data.size() - *pos > 32) {
          *error = "ERR Protocol error: too big bulk count string";
          return Outcome::kError;
        }
        return Outcome::kNeedMore;
      }
      int64_t len = 0;
      if (!ParseDecimal(data.substr(*pos + 1, crlf - *pos - 1), &len) || len < 0 ||
          static_cast<uint64_t>(len) > limits_.max_bulk_bytes) {
        *error = "ERR Protocol error: invalid bulk length";
        return Outcome::kError;
      }
      if (static_cast<uint64_t>(len) > MaxBulkBytes()) {
        *error = "ERR Protocol error: unauthenticated bulk length";
        return Outcome::kError;
      }
      bulk_len_ = len;
      *pos = crlf + 2;
    }
    size_t need = static_cast<size_t>(bulk_len_) + 2;
    if (data.size() - *pos < need) {
      pending_bytes_ = need;
      return Outcome::kNeedMore;
    }
    if (data[*pos + bulk_len_] != '\r' || data[*pos + bulk_len_ + 1] != '\n') {
      *error = "ERR Protocol error: bulk string not terminated by CRLF";
      return Outcome::kError;
    }
    // Reuse the strings (and their heap buffers) of an earlier command's vector: a pipelined
    // stream of same-shaped commands then parses without allocating.
    std::string_view bulk = data.substr(*pos, static_cast<size_t>(bulk_len_));
    if (filled_ < partial_.size()) {
      partial_[filled_].assign(bulk);
    } else {
      partial_.emplace_back(bulk);
    }
    filled_++;
    *pos += need;
    bulk_len_ = -1;
    remaining_--;
    pending_bytes_ = 0;
    parsed_bytes_ += bulk.size();
  }
  in_multibulk_ = false;
  parsed_bytes_ = 0;
  partial_.resize(filled_);
  // The caller's vector (the previous command's) comes back to be refilled next time.
  args->swap(partial_);
  return Outcome::kCommand;
}

// --- ReplyWriter ----------------------------------------------------------------------------

void ReplyWriter::Header(char type, int64_t n) {
  // std::to_chars, not snprintf: this runs for every bulk reply (snprintf cost ~3% of a
  // pipelined GET's CPU).
  char buf[24];
  buf[0] = type;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  assert(ec == std::errc());
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out_.append(buf, static_cast<size_t>(end - buf));
}

void ReplyWriter::Simple(std::string_view text) {
  out_.push_back('+');
  out_.append(text);
  out_.append("\r\n");
}

void ReplyWriter::Error(std::string_view message) {
  errors_++;
  out_.push_back('-');
  for (char c : message) out_.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_.append("\r\n");
}

void ReplyWriter::Integer(int64_t value) { Header(':', value); }

void ReplyWriter::Bulk(std::string_view value) {
  out_.reserve(out_.size() + value.size() + 24);  // one allocation at most
  Header('$', static_cast<int64_t>(value.size()));
  out_.append(value);
  out_.append("\r\n");
}

void ReplyWriter::Null() { out_.append(protocol_ >= 3 ? "_\r\n" : "$-1\r\n"); }

void ReplyWriter::NullArray() { out_.append(protocol_ >= 3 ? "_\r\n" : "*-1\r\n"); }

void ReplyWriter::Array(size_t count) { Header('*', static_cast<int64_t>(count)); }

void ReplyWriter::Map(size_t pairs) {
  if (protocol_ >= 3) {
    Header('%', static_cast<int64_t>(pairs));
  } else {
    Header('*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyWriter::Set(size_t count) {
  Header(protocol_ >= 3 ? '~' : '*', static_cast<int64_t>(count));
}

void ReplyWriter::Double(double value) {
  if (protocol_ >= 3) {
    out_.push_back(',');
    out_.append(FormatDouble(value));
    out_.append("\r\n");
  } else {
    Bulk(FormatDouble(value));
  }
}

std::string FormatDouble(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  // Redis prints INCRBYFLOAT results with %.17Lg and trims; shortest round-trip is equivalent
  // for the values users see.
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return "0";
  std::string s(buf, ptr);
  if (s.find('e') != std::string::npos) {
    int len = std::snprintf(buf, sizeof(buf), "%.17f", value);
    s.assign(buf, static_cast<size_t>(len));
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
    }
  }
  return s;
}

}  // namespace cloudkv::server
