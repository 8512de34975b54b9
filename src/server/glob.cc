// SPDX-License-Identifier: Apache-2.0
// Redis glob matching without recursion (see glob.h for the language).
//
// A pattern is a sequence of tokens: `*` (star), and tokens that each match exactly one byte
// (`?`, a set `[...]`, an escaped byte `\x`, a literal byte). With single-byte tokens, the
// classic greedy algorithm is exact: match tokens left to right; on a mismatch, go back to the
// most recent star and let it absorb one more byte. Going back further than the latest star
// never helps: whatever an earlier star would absorb in addition, the latest star can absorb
// instead, because everything between the two stars already matched. So each star restart
// advances the restart point in the subject by one byte, which bounds the work by
// O(|pattern| * |subject|).
#include "server/glob.h"

#include <cassert>
#include <cstddef>
#include <utility>

namespace cloudkv::server {
namespace {

// Matches the set that starts at pattern[*pos] (just after '[') against byte c, and moves *pos
// past the set's closing ']' (or to the end of the pattern if the set is unterminated). The
// order of the checks is stringmatchlen's: an escape, the closing bracket, the end of the
// pattern, a range "x-y", a literal.
bool MatchSet(std::string_view pattern, size_t* pos, char c) {
  const size_t n = pattern.size();
  size_t i = *pos;
  bool negate = false;
  if (i < n && pattern[i] == '^') {
    negate = true;
    i++;
  }
  bool match = false;
  while (true) {
    if (i + 1 < n && pattern[i] == '\\') {
      i++;
      if (pattern[i] == c) match = true;
    } else if (i < n && pattern[i] == ']') {
      i++;
      break;
    } else if (i >= n) {
      break;
    } else if (i + 2 < n && pattern[i + 1] == '-') {
      int start = pattern[i];
      int end = pattern[i + 2];
      if (start > end) std::swap(start, end);
      const int value = c;
      if (value >= start && value <= end) match = true;
      i += 2;
    } else if (pattern[i] == c) {
      match = true;
    }
    i++;
  }
  assert(i <= n);
  *pos = i;
  return negate ? !match : match;
}

// Matches the single-byte token at pattern[*pos] (not a star) against c and moves *pos past
// it, whether or not it matched.
bool MatchOne(std::string_view pattern, size_t* pos, char c) {
  const size_t n = pattern.size();
  assert(*pos < n && pattern[*pos] != '*');
  const char token = pattern[*pos];
  (*pos)++;
  switch (token) {
    case '?':
      return true;
    case '[':
      return MatchSet(pattern, pos, c);
    case '\\':
      if (*pos < n) return pattern[(*pos)++] == c;
      return c == '\\';  // a trailing backslash is itself
    default:
      return token == c;
  }
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view subject) {
  if (subject.empty()) return pattern.empty();  // stringmatchlen's rule
  constexpr size_t kNone = static_cast<size_t>(-1);
  const size_t n = pattern.size();
  size_t p = 0;
  size_t s = 0;
  size_t star_next = kNone;  // pattern position after the latest star run
  size_t star_subject = 0;   // subject position that star run extends to
  while (s < subject.size()) {
    if (p < n && pattern[p] == '*') {
      while (p < n && pattern[p] == '*') p++;
      if (p == n) return true;  // a trailing star absorbs the rest
      star_next = p;
      star_subject = s;
      continue;
    }
    size_t next = p;
    if (p < n && MatchOne(pattern, &next, subject[s])) {
      p = next;
      s++;
      continue;
    }
    if (star_next == kNone) return false;
    // Let the latest star absorb one more byte and retry the tokens after it.
    star_subject++;
    assert(star_subject <= subject.size());
    s = star_subject;
    p = star_next;
  }
  while (p < n && pattern[p] == '*') p++;
  return p == n;
}

}  // namespace cloudkv::server
