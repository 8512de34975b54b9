// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the server's glob matcher (server/glob.h). The input is a pattern and a subject
// separated by the first NUL byte (or split in the middle without one). Matching must finish
// in O(pattern x subject) steps whatever the pattern (libFuzzer's -timeout catches a hang);
// results must satisfy identities of the pattern language: a literal pattern (every byte
// escaped) matches only itself, and when p matches a non-empty subject, so do "*" + p, p + "*",
// "?" + p (one byte more) and "*" + p + "*" (a byte more at the end).
#include <string>

#include "fuzz/fuzz_check.h"
#include "server/glob.h"

using cloudkv::server::GlobMatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = cloudkv::fuzz::AsView(data, size);
  size_t cut = in.find('\0');
  std::string_view pattern, subject;
  if (cut == std::string_view::npos) {
    pattern = in.substr(0, in.size() / 2);
    subject = in.substr(in.size() / 2);
  } else {
    pattern = in.substr(0, cut);
    subject = in.substr(cut + 1);
  }
  const bool match = GlobMatch(pattern, subject);
  const std::string p(pattern);
  if (match && !subject.empty()) {  // the empty subject matches only the empty pattern
    FUZZ_CHECK(GlobMatch("*" + p, subject));
    FUZZ_CHECK(GlobMatch("?" + p, "x" + std::string(subject)));
    // Appending changes the meaning of a trailing '\\' or an unterminated set.
    if (p.find_first_of("[\\") == std::string::npos) {
      FUZZ_CHECK(GlobMatch(p + "*", subject));
      FUZZ_CHECK(GlobMatch("*" + p + "*", std::string(subject) + "x"));
    }
  }
  if (!subject.empty()) {
    FUZZ_CHECK(GlobMatch("*", subject));
    FUZZ_CHECK(GlobMatch("?*", subject));
    // The subject with every byte escaped matches itself and nothing else.
    std::string literal;
    for (char c : subject) {
      literal.push_back('\\');
      literal.push_back(c);
    }
    FUZZ_CHECK(GlobMatch(literal, subject));
    FUZZ_CHECK(!GlobMatch(literal, std::string(subject) + "x"));
    FUZZ_CHECK(GlobMatch(literal, pattern) == (pattern == subject));
  }
  return 0;
}
