// SPDX-License-Identifier: Apache-2.0
#include "tools/json_writer.h"

#include <cassert>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "cloudkv/tools.h"

namespace cloudkv::tools {

std::string EscapeJson(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  for (char c : bytes) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void JsonWriter::Indent() {
  out_.push_back('\n');
  out_.append(2 * stack_.size(), ' ');
}

void JsonWriter::BeforeValue() {
  if (stack_.empty()) {
    assert(!wrote_root_ && "one root value per document");
    wrote_root_ = true;
    return;
  }
  Level& level = stack_.back();
  if (level.is_object) {
    assert(level.after_key && "a value inside an object needs a Key first");
    level.after_key = false;
    return;
  }
  if (!level.empty) out_.push_back(',');
  level.empty = false;
  Indent();
}

JsonWriter& JsonWriter::Key(std::string_view name) {
  assert(!stack_.empty() && stack_.back().is_object && !stack_.back().after_key);
  Level& level = stack_.back();
  if (!level.empty) out_.push_back(',');
  level.empty = false;
  level.after_key = true;
  Indent();
  out_.push_back('"');
  out_.append(EscapeJson(name));
  out_.append("\": ");
  return *this;
}

void JsonWriter::Open(char bracket, bool is_object) {
  BeforeValue();
  out_.push_back(bracket);
  stack_.push_back(Level{is_object});
}

void JsonWriter::Close(char bracket, bool is_object) {
  assert(!stack_.empty() && stack_.back().is_object == is_object && !stack_.back().after_key);
  (void)is_object;
  bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) Indent();
  out_.push_back(bracket);
  if (stack_.empty()) out_.push_back('\n');
}

void JsonWriter::BeginObject() { Open('{', true); }
void JsonWriter::EndObject() { Close('}', true); }
void JsonWriter::BeginArray() { Open('[', false); }
void JsonWriter::EndArray() { Close(']', false); }

void JsonWriter::String(std::string_view bytes) {
  BeforeValue();
  out_.push_back('"');
  out_.append(EscapeJson(bytes));
  out_.push_back('"');
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  out_.append(std::to_string(value));
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_.append(std::to_string(value));
}

void JsonWriter::Double(double value) {
  BeforeValue();
  // JSON has no NaN or infinity.
  if (!std::isfinite(value)) {
    out_.append("null");
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  out_.append(buf);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

void JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  while (!json.empty() && (json.back() == '\n' || json.back() == ' ')) json.remove_suffix(1);
  // Keep multi-line text inside our indentation.
  const std::string indent = "\n" + std::string(2 * stack_.size(), ' ');
  for (char c : json) {
    if (c == '\n') {
      out_.append(indent);
    } else {
      out_.push_back(c);
    }
  }
}

void JsonWriter::Hex64(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, value);
  String(buf);
}

}  // namespace cloudkv::tools
