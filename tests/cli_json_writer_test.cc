// SPDX-License-Identifier: Apache-2.0
// JsonWriter (src/tools/json_writer.h): the JSON of `cloudkv inspect` and `verify --json`.
// Output is compared byte for byte; tests/redis/run_inspect.py parses real output with Python.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tools/json_writer.h"

namespace cloudkv::tools {
namespace {

TEST(JsonWriterTest, NestedContainersAndScalars) {
  JsonWriter json;
  json.BeginObject();
  json.Member("name", "cloudkv");
  json.Member("count", uint64_t{18446744073709551615ull});
  json.Key("negative").Int(-5);
  json.Member("flag", false);
  json.Key("nothing").Null();
  json.Key("list").BeginArray();
  json.Uint(1);
  json.BeginObject();
  json.EndObject();
  json.BeginArray();
  json.EndArray();
  json.EndArray();
  json.Key("id").Hex64(0xabc);
  json.EndObject();
  EXPECT_TRUE(json.complete());
  EXPECT_EQ(json.str(),
            "{\n"
            "  \"name\": \"cloudkv\",\n"
            "  \"count\": 18446744073709551615,\n"
            "  \"negative\": -5,\n"
            "  \"flag\": false,\n"
            "  \"nothing\": null,\n"
            "  \"list\": [\n"
            "    1,\n"
            "    {},\n"
            "    []\n"
            "  ],\n"
            "  \"id\": \"0000000000000abc\"\n"
            "}\n");
}

TEST(JsonWriterTest, BinaryBytesAreEscapedOnePerByte) {
  JsonWriter json;
  json.BeginArray();
  json.String(std::string("a\0\"\\\n\x7f\xff", 7));
  json.EndArray();
  EXPECT_EQ(json.str(), "[\n  \"a\\u0000\\\"\\\\\\u000a\\u007f\\u00ff\"\n]\n");
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter json;
  json.BeginObject();
  json.Key(std::string("k\x01", 2)).Uint(1);
  json.EndObject();
  EXPECT_EQ(json.str(), "{\n  \"k\\u0001\": 1\n}\n");
}

TEST(JsonWriterTest, NonFiniteDoublesBecomeNull) {
  JsonWriter json;
  json.BeginArray();
  json.Double(0.5);
  json.Double(std::nan(""));
  json.Double(INFINITY);
  json.EndArray();
  EXPECT_EQ(json.str(), "[\n  0.5,\n  null,\n  null\n]\n");
}

TEST(JsonWriterTest, RawTextIsIndentedWithTheDocument) {
  JsonWriter json;
  json.BeginObject();
  json.Key("inner").Raw("{\n \"a\": 1\n}\n");
  json.EndObject();
  EXPECT_EQ(json.str(), "{\n  \"inner\": {\n   \"a\": 1\n  }\n}\n");
}

TEST(JsonWriterTest, IncompleteUntilTheRootCloses) {
  JsonWriter json;
  EXPECT_FALSE(json.complete());
  json.BeginObject();
  EXPECT_FALSE(json.complete());
  json.EndObject();
  EXPECT_TRUE(json.complete());
}

}  // namespace
}  // namespace cloudkv::tools
