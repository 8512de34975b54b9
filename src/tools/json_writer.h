// SPDX-License-Identifier: Apache-2.0
// JsonWriter: builds indented JSON text for `cloudkv inspect` and `verify --json`.
//
// The writer tracks nesting and commas so callers only say what comes next. Strings are raw
// bytes and are escaped with EscapeJson (cloudkv/tools.h): printable ASCII as is, every other byte
// as \u00HH, so any binary key gives valid JSON and a reader that maps \u00HH back to the byte gets
// the key exactly. Integers are JSON numbers (exact in Python; JavaScript loses precision above
// 2^53, which is why identifiers such as nonces are written as hex strings).
//
// Misuse (a value where a key is expected, unbalanced End calls) is a programmer error,
// checked by assertions.
//
// Thread-safety: not thread-safe.
#ifndef CLOUDKV_TOOLS_JSON_WRITER_H_
#define CLOUDKV_TOOLS_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cloudkv::tools {

class JsonWriter {
 public:
  JsonWriter() = default;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();

  // Inside an object: the name of the next member. REQUIRES: the innermost container is an
  // object and the previous member has its value.
  JsonWriter& Key(std::string_view name);

  void String(std::string_view bytes);
  void Uint(uint64_t value);
  void Int(int64_t value);
  void Double(double value);
  void Bool(bool value);
  void Null();
  // A value that is already JSON text (e.g. protobuf's JSON), inserted as is.
  void Raw(std::string_view json);
  // A 64-bit identifier as a 16-digit lower-case hex string.
  void Hex64(uint64_t value);

  // Shorthands for a member: Key(name) then the value.
  void Member(std::string_view name, std::string_view bytes) { Key(name).String(bytes); }
  void Member(std::string_view name, const char* text) { Key(name).String(text); }
  void Member(std::string_view name, uint64_t value) { Key(name).Uint(value); }
  void Member(std::string_view name, bool value) { Key(name).Bool(value); }

  // The text so far. REQUIRES for a complete document: every Begin matched by its End.
  const std::string& str() const { return out_; }
  bool complete() const { return stack_.empty() && wrote_root_; }

 private:
  struct Level {
    bool is_object;
    bool empty = true;
    bool after_key = false;
  };
  // Writes the comma and newline/indent that precede a value (or a key in an object).
  void BeforeValue();
  void Open(char bracket, bool is_object);
  void Close(char bracket, bool is_object);
  void Indent();

  std::string out_;
  std::vector<Level> stack_;
  bool wrote_root_ = false;
};

}  // namespace cloudkv::tools

#endif  // CLOUDKV_TOOLS_JSON_WRITER_H_
