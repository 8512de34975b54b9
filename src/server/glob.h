// SPDX-License-Identifier: Apache-2.0
// Redis glob matching for KEYS, SCAN MATCH, HSCAN MATCH and CONFIG GET.
//
// The pattern language is the one of Redis's stringmatchlen (util.c): `*` matches any run of
// bytes, `?` any one byte, `[abc]`, `[a-z]` (ends in either order) and `[^...]` a byte in (or
// not in) a set, and `\x` the byte x, inside a set too. Redis's edge cases are kept: an
// unterminated set ends at the end of the pattern, a trailing `\` is a literal backslash, bytes
// compare as `char`, and the empty subject matches only the empty pattern (Redis's KEYS and
// SCAN treat the pattern "*" as "everything" before matching; callers do the same).
//
// Unlike stringmatchlen, matching never recurses: it runs in O(|pattern| * |subject|) time and
// O(1) space whatever the pattern, so a crafted pattern ("a*a*a*...b") against a long key cannot
// pin a thread, and there is no nesting limit that turns a true match into a miss.
//
// Thread-safe: a pure function of its arguments.
#ifndef CLOUDKV_SERVER_GLOB_H_
#define CLOUDKV_SERVER_GLOB_H_

#include <string_view>

namespace cloudkv::server {

// True if `subject` matches the Redis glob `pattern`. Both are borrowed for the call only.
bool GlobMatch(std::string_view pattern, std::string_view subject);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_GLOB_H_
