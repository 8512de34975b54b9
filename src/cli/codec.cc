// SPDX-License-Identifier: Apache-2.0
// TSV and JSON-lines encodings of raw key/value bytes (see cli.h and docs/cli.md).
#include <cstdio>

#include "cli/cli.h"

namespace cloudkv::cli {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Parses a JSON string starting at text[*pos] == '"'; moves *pos past the closing quote.
std::optional<std::string> ParseJsonString(std::string_view text, size_t* pos) {
  if (*pos >= text.size() || text[*pos] != '"') return std::nullopt;
  std::string out;
  size_t i = *pos + 1;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      *pos = i + 1;
      return out;
    }
    if (c != '\\') {
      out.push_back(c);
      i++;
      continue;
    }
    if (i + 1 >= text.size()) return std::nullopt;
    char e = text[i + 1];
    i += 2;
    switch (e) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        if (i + 4 > text.size()) return std::nullopt;
        uint32_t cp = 0;
        for (int k = 0; k < 4; k++) {
          int h = HexValue(text[i + k]);
          if (h < 0) return std::nullopt;
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        i += 4;
        if (cp < 0x100) {
          out.push_back(static_cast<char>(cp));
        } else {
          AppendUtf8(&out, cp);
        }
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

void SkipSpace(std::string_view text, size_t* pos) {
  while (*pos < text.size() && (text[*pos] == ' ' || text[*pos] == '\t')) (*pos)++;
}

}  // namespace

std::string EscapeTsv(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::optional<std::string> UnescapeTsv(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 >= text.size()) return std::nullopt;
    char e = text[++i];
    if (e == 't') {
      out.push_back('\t');
    } else if (e == 'n') {
      out.push_back('\n');
    } else if (e == 'r') {
      out.push_back('\r');
    } else if (e == '\\') {
      out.push_back('\\');
    } else if (e == 'x' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> ParseJsonRecord(std::string_view line) {
  size_t pos = 0;
  SkipSpace(line, &pos);
  if (pos >= line.size() || line[pos] != '{') return std::nullopt;
  pos++;
  std::optional<std::string> key, value;
  while (true) {
    SkipSpace(line, &pos);
    auto name = ParseJsonString(line, &pos);
    if (!name) return std::nullopt;
    SkipSpace(line, &pos);
    if (pos >= line.size() || line[pos] != ':') return std::nullopt;
    pos++;
    SkipSpace(line, &pos);
    auto v = ParseJsonString(line, &pos);
    if (!v) return std::nullopt;
    if (*name == "key") {
      key = std::move(v);
    } else if (*name == "value") {
      value = std::move(v);
    }
    SkipSpace(line, &pos);
    if (pos < line.size() && line[pos] == ',') {
      pos++;
      continue;
    }
    if (pos < line.size() && line[pos] == '}') break;
    return std::nullopt;
  }
  if (!key || !value) return std::nullopt;
  return std::make_pair(std::move(*key), std::move(*value));
}

}  // namespace cloudkv::cli
