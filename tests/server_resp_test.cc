// SPDX-License-Identifier: Apache-2.0
// RESP parser and reply encoding of `cloudkv serve`, the server's key encoding, and its
// argument parsing helpers (Redis-compatible integer/float/glob rules).
#include <gtest/gtest.h>

#include "server/commands.h"
#include "server/key_encoding.h"
#include "server/resp.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv::server {
namespace {

using Outcome = RespParser::Outcome;

// Feeds `input` to a parser in chunks split at random points; returns the commands parsed, or
// the error.
std::vector<std::vector<std::string>> ParseAll(std::string_view input, Random* rnd,
                                               std::string* error) {
  RespParser parser{RespLimits()};
  std::string buffer;
  size_t pos = 0, fed = 0;
  std::vector<std::vector<std::string>> commands;
  while (true) {
    std::vector<std::string> args;
    Outcome outcome = parser.Parse(buffer, &pos, &args, error);
    if (outcome == Outcome::kCommand) {
      commands.push_back(std::move(args));
      continue;
    }
    if (outcome == Outcome::kError) return commands;
    if (fed == input.size()) return commands;
    size_t n = 1 + rnd->Uniform(std::min<size_t>(input.size() - fed, 64));
    buffer.append(input.substr(fed, n));
    fed += n;
  }
}

// Parses `input` given all at once.
std::vector<std::vector<std::string>> ParseWhole(std::string_view input, std::string* error) {
  RespParser parser{RespLimits()};
  size_t pos = 0;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> args;
  while (parser.Parse(input, &pos, &args, error) == Outcome::kCommand) commands.push_back(args);
  return commands;
}

TEST(RespParserTest, MultibulkAcrossArbitrarySplits) {
  Random rnd(TestSeed("RespParserTest.MultibulkAcrossArbitrarySplits"));
  std::string input;
  std::vector<std::vector<std::string>> want;
  for (int i = 0; i < 200; i++) {
    std::vector<std::string> cmd;
    size_t argc = 1 + rnd.Uniform(5);
    input += "*" + std::to_string(argc) + "\r\n";
    for (size_t a = 0; a < argc; a++) {
      std::string arg;
      size_t len = rnd.Uniform(40);
      for (size_t b = 0; b < len; b++) arg.push_back(static_cast<char>(rnd.Uniform(256)));
      input += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
      cmd.push_back(arg);
    }
    want.push_back(cmd);
  }
  std::string error;
  EXPECT_EQ(ParseAll(input, &rnd, &error), want);
  EXPECT_EQ(error, "");
}

TEST(RespParserTest, InlineCommands) {
  Random rnd(1);
  std::string error;
  auto got = ParseAll("PING\r\nSET k \"a b\\x41\\n\"\nGET 'it''\r\n", &rnd, &error);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::vector<std::string>{"PING"});
  EXPECT_EQ(got[1], (std::vector<std::string>{"SET", "k", "a bA\n"}));
  EXPECT_EQ(error, "ERR Protocol error: unbalanced quotes in request");
}

TEST(RespParserTest, LimitsAndMalformedInput) {
  struct Case {
    std::string input;
    std::string error;
  };
  const Case cases[] = {
      {"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1048577\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*x\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*1\r\n+OK\r\n", "ERR Protocol error: expected '$', got '+'"},
      {"*1\r\n$2\r\nabcd\r\n", "ERR Protocol error: bulk string not terminated by CRLF"},
      {std::string(70000, 'a'), "ERR Protocol error: too big inline request"},
      {"*1\r\n$" + std::string(40, '1'), "ERR Protocol error: too big bulk count string"},
  };
  for (const Case& c : cases) {
    Random rnd(2);
    std::string error;
    auto got = ParseAll(c.input, &rnd, &error);
    EXPECT_TRUE(got.empty()) << c.input.substr(0, 40);
    EXPECT_EQ(error, c.error) << c.input.substr(0, 40);
  }
}

// Random junk: parsing it whole and in random pieces gives the same commands and ends in a
// protocol error in both or in neither; every error is a protocol error; and every command
// parsed, encoded as a multibulk array, parses back to itself (fuzz/resp_fuzzer checks the same).
TEST(RespParserTest, RandomJunkNeverCrashes) {
  Random rnd(TestSeed("RespParserTest.RandomJunkNeverCrashes"));
  size_t commands_seen = 0, errors_seen = 0;
  for (int i = 0; i < 2000; i++) {
    std::string junk;
    size_t len = rnd.Uniform(200);
    const char alphabet[] = "*$\r\n0123456789-+ \"'\\xab";
    for (size_t b = 0; b < len; b++) {
      junk.push_back(rnd.OneIn(2) ? alphabet[rnd.Uniform(sizeof(alphabet) - 1)]
                                  : static_cast<char>(rnd.Uniform(256)));
    }
    std::string split_error, whole_error;
    auto split = ParseAll(junk, &rnd, &split_error);
    auto whole = ParseWhole(junk, &whole_error);
    ASSERT_EQ(split, whole) << "input: " << junk;
    ASSERT_EQ(split_error.empty(), whole_error.empty()) << "input: " << junk;
    for (const std::string* e : {&split_error, &whole_error}) {
      if (!e->empty()) {
        EXPECT_EQ(e->rfind("ERR Protocol error: ", 0), 0u) << *e;
      }
    }
    std::string encoded;
    std::vector<std::vector<std::string>> nonempty;
    for (const auto& command : whole) {
      if (command.empty()) continue;  // an empty inline line
      encoded += "*" + std::to_string(command.size()) + "\r\n";
      for (const auto& a : command) encoded += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
      nonempty.push_back(command);
    }
    std::string error;
    ASSERT_EQ(ParseWhole(encoded, &error), nonempty);
    ASSERT_EQ(error, "");
    commands_seen += whole.size();
    errors_seen += whole_error.empty() ? 0 : 1;
  }
  // The junk exercises both outcomes.
  EXPECT_GT(commands_seen, 0u);
  EXPECT_GT(errors_seen, 0u);
}

TEST(ReplyWriterTest, Resp2AndResp3) {
  ReplyWriter two(2), three(3);
  for (ReplyWriter* w : {&two, &three}) {
    w->Null();
    w->Map(1);
    w->Bulk("k");
    w->Integer(-5);
    w->Double(1.5);
    w->Error("ERR bad\r\nthing");
  }
  EXPECT_EQ(two.buffer(), "$-1\r\n*2\r\n$1\r\nk\r\n:-5\r\n$3\r\n1.5\r\n-ERR bad  thing\r\n");
  EXPECT_EQ(three.buffer(), "_\r\n%1\r\n$1\r\nk\r\n:-5\r\n,1.5\r\n-ERR bad  thing\r\n");
}

TEST(KeyspaceTest, MetadataRoundTripAndCorruption) {
  Metadata hash;
  hash.type = ValueType::kHash;
  hash.expire_at_ms = 123456789;
  hash.version = 77;
  hash.count = 3;
  Result<Metadata> back = DecodeMetadata("h", EncodeMetadata(hash));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version, 77u);
  EXPECT_EQ(back->count, 3u);
  EXPECT_EQ(back->expire_at_ms, 123456789u);
  Metadata str;
  str.value = std::string("a\0b", 3);
  back = DecodeMetadata("s", EncodeMetadata(str));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->value, str.value);
  EXPECT_TRUE(DecodeMetadata("k", "").status().IsCorruption());
  EXPECT_TRUE(DecodeMetadata("k", std::string(9, '\x07')).status().IsCorruption());
  std::string bad = EncodeMetadata(hash);
  bad.pop_back();
  EXPECT_TRUE(DecodeMetadata("k", bad).status().IsCorruption());
  // Fields of consecutive versions never interleave; metadata sorts apart from fields.
  EXPECT_LT(FieldKey(1, "\xff\xff"), FieldPrefix(2));
  EXPECT_LT(MetaKey("\xff"), std::string(1, kMetaEnd));
}

// Expired metadata records become tombstones when compaction meets them; live ones, records
// without expiry and hash fields stay. Checked below the server, on the raw records.
TEST(KeyspaceTest, CompactionDropsExpiredMetadataRecords) {
  DropMemoryStore("expiry-filter");
  Options o;
  o.compaction_filter = NewExpiryCompactionFilter();
  auto opened = DB::Open("memory://expiry-filter", o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<DB> db = std::move(opened).value();
  const uint64_t now = NowMs();
  Metadata expired;
  expired.value = "old";
  expired.expire_at_ms = now - 1000;
  Metadata live = expired;
  live.expire_at_ms = now + 3'600'000;
  Metadata forever = expired;
  forever.expire_at_ms = 0;
  // An older, non-expiring version below the expired one must not come back.
  ASSERT_TRUE(db->Put({}, MetaKey("gone"), EncodeMetadata(forever)).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  ASSERT_TRUE(db->Put({}, MetaKey("gone"), EncodeMetadata(expired)).ok());
  ASSERT_TRUE(db->Put({}, MetaKey("live"), EncodeMetadata(live)).ok());
  ASSERT_TRUE(db->Put({}, MetaKey("forever"), EncodeMetadata(forever)).ok());
  ASSERT_TRUE(db->Put({}, FieldKey(7, "f"), "v").ok());
  ASSERT_TRUE(db->Get({}, MetaKey("gone")).ok());  // the engine keeps it until compaction
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  EXPECT_TRUE(db->Get({}, MetaKey("gone")).status().IsNotFound());
  EXPECT_TRUE(db->Get({}, MetaKey("live")).ok());
  EXPECT_TRUE(db->Get({}, MetaKey("forever")).ok());
  EXPECT_TRUE(db->Get({}, FieldKey(7, "f")).ok());
  ASSERT_TRUE(db->Close().ok());
}

TEST(HelpersTest, RedisNumberAndGlobRules) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* bad : {"", " 1", "1 ", "+1", "01", "-0", "9223372036854775808", "1e3", "-"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
  long double d = 0;
  EXPECT_TRUE(ParseLongDouble("5.0e3", &d));
  EXPECT_FALSE(ParseLongDouble("nan", &d));
  EXPECT_FALSE(ParseLongDouble(" 1", &d));
  EXPECT_EQ(FormatLongDouble(10.5L + 0.1L), "10.6");
  EXPECT_EQ(FormatLongDouble(5200), "5200");
  EXPECT_TRUE(GlobMatch("user:*", "user:1"));
  EXPECT_TRUE(GlobMatch("h?llo", "hallo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_FALSE(GlobMatch(std::string(50, '*') + "x", std::string(3000, 'a')));
}

}  // namespace
}  // namespace cloudkv::server
