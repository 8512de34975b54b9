// SPDX-License-Identifier: Apache-2.0
// RESP: the Redis serialization protocol. RespParser turns untrusted bytes from a client into
// commands (RESP2 multibulk arrays, or inline commands), enforcing limits on every length;
// ReplyWriter encodes replies in RESP2 or RESP3.
//
// Thread-safety: both are used by one connection at a time.
#ifndef CLOUDKV_SERVER_RESP_H_
#define CLOUDKV_SERVER_RESP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cloudkv::server {

struct RespLimits {
  // Largest bulk string (Redis proto-max-bulk-len).
  size_t max_bulk_bytes = 512ull << 20;
  // Most elements in one command.
  size_t max_multibulk_count = 1024 * 1024;
  // Longest inline command line.
  size_t max_inline_bytes = 64 * 1024;
  // Until the client authenticates (set_authenticated(false)), as Redis: at most this many
  // elements per command and this many bytes per bulk string, so a client without the
  // password cannot make the server hold large commands.
  size_t unauthenticated_max_multibulk_count = 10;
  size_t unauthenticated_max_bulk_bytes = 16 * 1024;
};

class RespParser {
 public:
  enum class Outcome { kNeedMore, kCommand, kError };

  explicit RespParser(const RespLimits& limits) : limits_(limits) {}

  // Parses one command from `data[*pos..]`. kCommand: `*args` holds it (args[0] is the name;
  // an empty line gives an empty vector) and `*pos` moved past it; the vector's old contents
  // are kept by the parser to be reused (pass the same vector every time to parse without
  // allocating). kNeedMore: consumed what it
  // could (state is kept across calls; call again with more bytes appended). kError: `*error`
  // is the protocol error to send ("ERR Protocol error: ..."), after which the connection must
  // be closed.
  Outcome Parse(std::string_view data, size_t* pos, std::vector<std::string>* args,
                std::string* error);

  // Bytes of the command being assembled (for the query buffer limit): the arguments parsed
  // so far plus the declared size of the bulk being read.
  size_t pending_bytes() const { return parsed_bytes_ + pending_bytes_; }
  // Whether the client has authenticated: before that the unauthenticated_* limits apply
  // (from the next length read on).
  void set_authenticated(bool authenticated) { authenticated_ = authenticated; }

 private:
  Outcome ParseInline(std::string_view data, size_t* pos, std::vector<std::string>* args,
                      std::string* error);
  // Starts assembling a multibulk command of `count` > 0 elements.
  void BeginMultibulk(int64_t count);
  size_t MaxMultibulkCount() const {
    return authenticated_
               ? limits_.max_multibulk_count
               : std::min(limits_.max_multibulk_count, limits_.unauthenticated_max_multibulk_count);
  }
  size_t MaxBulkBytes() const {
    return authenticated_
               ? limits_.max_bulk_bytes
               : std::min(limits_.max_bulk_bytes, limits_.unauthenticated_max_bulk_bytes);
  }

  const RespLimits limits_;
  // State of a multibulk command in progress.
  bool in_multibulk_ = false;
  int64_t remaining_ = 0;             // elements still to read
  int64_t bulk_len_ = -1;             // length of the bulk being read, -1 = header not read yet
  std::vector<std::string> partial_;  // elements [0, filled_) belong to the current command
  size_t filled_ = 0;
  size_t pending_bytes_ = 0;  // declared size of the bulk being read
  size_t parsed_bytes_ = 0;   // elements [0, filled_) of the current command
  bool authenticated_ = true;
};

class ReplyWriter {
 public:
  explicit ReplyWriter(int protocol = 2) : protocol_(protocol), out_(own_) {}
  // Appends to `sink` (not owned; it must outlive the writer) instead of an own buffer, so
  // replies can go straight into a connection's output.
  ReplyWriter(int protocol, std::string* sink) : protocol_(protocol), out_(*sink) {}
  ReplyWriter(const ReplyWriter&) = delete;
  ReplyWriter& operator=(const ReplyWriter&) = delete;

  int protocol() const { return protocol_; }
  void Simple(std::string_view text);
  // `message` starts with the error code, e.g. "ERR syntax error" or "WRONGTYPE ...".
  void Error(std::string_view message);
  void Integer(int64_t value);
  void Bulk(std::string_view value);
  void Null();       // a missing bulk ($-1 or _)
  void NullArray();  // a missing array (*-1 or _)
  void Array(size_t count);
  // A map of `pairs` pairs (RESP3 %, RESP2 a flat array of 2*pairs).
  void Map(size_t pairs);
  void Set(size_t count);  // RESP3 ~, RESP2 array
  void Double(double value);
  void Raw(std::string_view bytes) { out_.append(bytes); }

  std::string& buffer() { return out_; }
  size_t errors() const { return errors_; }

 private:
  void Header(char type, int64_t n);

  int protocol_;
  std::string own_;
  std::string& out_;
  size_t errors_ = 0;
};

// Formats a double like Redis (%.17g, shortest round-trip; "inf"/"-inf").
std::string FormatDouble(double value);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_RESP_H_
