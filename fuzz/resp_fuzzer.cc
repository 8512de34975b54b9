// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the RESP parser (server/resp.h) with the server's default limits. The same bytes
// are parsed whole and fed in pieces (split where the input says): both must give the same
// commands and both end in a protocol error ("ERR Protocol error: ...") or neither does. Every
// command parsed is encoded as a multibulk array and must parse back to itself.
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/resp.h"

using cloudkv::server::RespLimits;
using cloudkv::server::RespParser;
using Outcome = RespParser::Outcome;
using Commands = std::vector<std::vector<std::string>>;

namespace {

// Parses `input` fed in pieces of the given sizes (cycled; 0 = everything at once). Returns
// the commands; *error is the protocol error, if any.
Commands Parse(std::string_view input, std::string_view piece_sizes, std::string* error) {
  RespParser parser{RespLimits()};
  std::string buffer;
  size_t pos = 0, fed = 0, piece = 0;
  Commands commands;
  std::vector<std::string> args;
  while (true) {
    Outcome outcome = parser.Parse(buffer, &pos, &args, error);
    if (outcome == Outcome::kCommand) {
      FUZZ_CHECK(pos <= buffer.size());
      commands.push_back(args);
      continue;
    }
    if (outcome == Outcome::kError) {
      FUZZ_CHECK(error->rfind("ERR Protocol error: ", 0) == 0);
      return commands;
    }
    if (fed == input.size()) return commands;
    size_t n = input.size() - fed;
    if (!piece_sizes.empty()) {
      n = std::min<size_t>(n, 1 + static_cast<uint8_t>(piece_sizes[piece++ % piece_sizes.size()]));
    }
    buffer.append(input.substr(fed, n));
    fed += n;
  }
}

std::string Encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = cloudkv::fuzz::AsView(data, size);
  // The first up to 8 bytes choose the piece sizes; the rest is the stream.
  const size_t header = std::min<size_t>(in.size(), 1 + (in.empty() ? 0 : in[0] & 7));
  std::string_view pieces = in.substr(1 < header ? 1 : header, header > 1 ? header - 1 : 0);
  std::string_view stream = in.substr(header);
  std::string whole_error, split_error;
  const Commands whole = Parse(stream, {}, &whole_error);
  const Commands split =
      Parse(stream, pieces.empty() ? std::string_view("\x00", 1) : pieces, &split_error);
  if (whole != split || whole_error != split_error) {
    std::fprintf(stderr, "whole: %zu commands, error '%s'; split: %zu commands, error '%s'\n",
                 whole.size(), whole_error.c_str(), split.size(), split_error.c_str());
  }
  FUZZ_CHECK(whole == split);
  // Which protocol error is reported may depend on how much had arrived (a long length line
  // is "too big" before its CRLF comes, "invalid" after), as in Redis; that there is one may not.
  FUZZ_CHECK(whole_error.empty() == split_error.empty());
  std::string encoded;
  Commands nonempty;
  for (const auto& c : whole) {
    if (c.empty()) continue;  // an empty inline line is not a command to re-encode
    encoded += Encode(c);
    nonempty.push_back(c);
  }
  std::string error;
  FUZZ_CHECK(Parse(encoded, {}, &error) == nonempty);
  FUZZ_CHECK(error.empty());
  return 0;
}
