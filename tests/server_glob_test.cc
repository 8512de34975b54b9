// SPDX-License-Identifier: Apache-2.0
// The server's glob matcher (server/glob.h): Redis's semantics, checked case by case and
// against a direct recursive transcription of the language on random small inputs, and its
// bound: adversarial patterns against long keys finish (an exponential matcher would not).
#include <gtest/gtest.h>

#include <string>

#include "server/glob.h"
#include "util/random.h"

namespace cloudkv::server {
namespace {

// The reference: the language of glob.h written as plainly as possible, recursing at every
// star (exponential in the number of stars; only run on small inputs).
bool ReferenceMatch(std::string_view p, std::string_view s) {
  if (s.empty()) return p.empty();
  if (p.empty()) return false;
  if (p[0] == '*') {
    size_t i = 0;
    while (i < p.size() && p[i] == '*') i++;
    if (i == p.size()) return true;
    for (size_t k = 0; k < s.size(); k++) {
      if (ReferenceMatch(p.substr(i), s.substr(k))) return true;
    }
    return false;
  }
  size_t next = 1;
  bool ok = false;
  if (p[0] == '?') {
    ok = true;
  } else if (p[0] == '\\' && p.size() >= 2) {
    ok = p[1] == s[0];
    next = 2;
  } else if (p[0] == '[') {
    size_t i = 1;
    bool negate = i < p.size() && p[i] == '^';
    if (negate) i++;
    for (;;) {
      if (i + 1 < p.size() && p[i] == '\\') {
        ok |= p[i + 1] == s[0];
        i += 2;
      } else if (i < p.size() && p[i] == ']') {
        i++;
        break;
      } else if (i >= p.size()) {
        break;
      } else if (i + 2 < p.size() && p[i + 1] == '-') {
        int lo = std::min(p[i], p[i + 2]), hi = std::max(p[i], p[i + 2]);
        ok |= s[0] >= lo && s[0] <= hi;
        i += 3;
      } else {
        ok |= p[i] == s[0];
        i++;
      }
    }
    if (negate) ok = !ok;
    next = i;
  } else {
    ok = p[0] == s[0];
  }
  if (!ok) return false;
  std::string_view rest_p = p.substr(next), rest_s = s.substr(1);
  if (rest_s.empty()) {
    while (!rest_p.empty() && rest_p[0] == '*') rest_p.remove_prefix(1);
    return rest_p.empty();
  }
  return ReferenceMatch(rest_p, rest_s);
}

TEST(GlobTest, RedisSemantics) {
  struct Case {
    std::string_view pattern, subject;
    bool match;
  };
  const Case cases[] = {
      {"", "", true},
      {"", "a", false},
      {"*", "", false},  // stringmatchlen's rule: KEYS/SCAN special-case "*" instead
      {"*", "abc", true},
      {"**", "abc", true},
      {"a*", "a", true},
      {"a**", "a", true},
      {"*a", "a", true},
      {"*a", "ba", true},
      {"*a", "ab", false},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "abcbc", true},
      {"a*b*c", "acb", false},
      {"h?llo", "hello", true},
      {"h?llo", "hllo", false},
      {"?", "", false},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-b]llo", "hbllo", true},
      {"h[b-a]llo", "hallo", true},  // reversed range
      {"h[a-b]llo", "hcllo", false},
      {"[a-]", "]", true},   // "a-]" is the range a..]
      {"[a-]", "-", false},  // ... so '-' is not in it
      {"[\\]]", "]", true},
      {"[\\-]", "-", true},
      {"[]]", "]", false},  // the set ends at the first ']': empty set, then a literal ']'
      {"[]", "a", false},
      {"[^]", "a", true},
      {"[abc", "b", true},  // an unterminated set ends at the end of the pattern
      {"[abc", "d", false},
      {"[", "a", false},
      {"[^", "a", true},
      {"[\\", "\\", true},  // a trailing backslash in a set is itself
      {"a\\*b", "a*b", true},
      {"a\\*b", "axb", false},
      {"a\\", "a\\", true},  // a trailing backslash is itself
      {"\\?", "?", true},
      {"\\?", "x", false},
      {"*\\*", "ab*", true},
      {"*\\*", "ab", false},
      {"user:*", "user:1", true},
      {std::string_view("a\0b", 3), std::string_view("a\0b", 3), true},
      {std::string_view("?\0", 2), std::string_view("x\0", 2), true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.subject), c.match)
        << "pattern '" << c.pattern << "' subject '" << c.subject << "'";
    EXPECT_EQ(ReferenceMatch(c.pattern, c.subject), c.match)
        << "reference: pattern '" << c.pattern << "' subject '" << c.subject << "'";
  }
}

TEST(GlobTest, AgreesWithReferenceOnRandomInputs) {
  Random rnd(TestSeed("GlobTest.AgreesWithReferenceOnRandomInputs"));
  const std::string_view pattern_bytes = "ab*?[]^-\\\x80";
  const std::string_view subject_bytes = "ab-]^\\*\x80";
  for (int i = 0; i < 200000; i++) {
    std::string pattern, subject;
    for (size_t n = rnd.Uniform(9); n > 0; n--) {
      pattern.push_back(pattern_bytes[rnd.Uniform(pattern_bytes.size())]);
    }
    for (size_t n = rnd.Uniform(7); n > 0; n--) {
      subject.push_back(subject_bytes[rnd.Uniform(subject_bytes.size())]);
    }
    ASSERT_EQ(GlobMatch(pattern, subject), ReferenceMatch(pattern, subject))
        << "pattern '" << pattern << "' subject '" << subject << "'";
  }
}

// Patterns that take an exponential matcher (one that recurses at every star) about
// |subject|^stars steps; the bounded matcher takes at most |pattern| * |subject|.
TEST(GlobTest, AdversarialPatternsAgainstLongKeysFinish) {
  const std::string as(100000, 'a');
  std::string many_stars;  // "a*a*...a*b": 40 stars, no match
  for (int i = 0; i < 40; i++) many_stars += "a*";
  EXPECT_FALSE(GlobMatch(many_stars + "b", as));
  EXPECT_TRUE(GlobMatch(many_stars + "b", as + "b"));
  EXPECT_TRUE(GlobMatch(many_stars + "a", as));
  EXPECT_FALSE(GlobMatch("*" + many_stars + "?b", as));
  EXPECT_FALSE(GlobMatch(std::string(50, '*') + "x", as));

  std::string classes;  // "*[a]*[^b]*?*...c": sets, '?' and stars, no match
  for (int i = 0; i < 30; i++) classes += "*[a]*[^b]*?";
  EXPECT_FALSE(GlobMatch(classes + "c", as));
  EXPECT_TRUE(GlobMatch(classes + "c", as + "c"));

  // Deeper than stringmatchlen's nesting limit (1000), which would answer "no" here.
  std::string deep;
  for (int i = 0; i < 1500; i++) deep += "a*";
  EXPECT_TRUE(GlobMatch(deep, as));
  EXPECT_FALSE(GlobMatch(deep + "b", as.substr(0, 20000)));

  // A long pattern against a long subject that matches only at the very end.
  std::string key = as + "xyz";
  EXPECT_TRUE(GlobMatch("*" + std::string(1000, '?') + "*xyz", key));
  EXPECT_FALSE(GlobMatch("*" + std::string(1000, '?') + "*xy", key));
}

}  // namespace
}  // namespace cloudkv::server
