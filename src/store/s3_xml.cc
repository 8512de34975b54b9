// SPDX-License-Identifier: Apache-2.0
// Grammar accepted (a strict subset of XML 1.0, enough for S3):
//   document := prolog? misc* element misc*
//   prolog   := "<?xml" ... "?>"          misc := whitespace | comment | "<?" ... "?>"
//   element  := "<" name attr* "/>" | "<" name attr* ">" content "</" name ">"
//   attr     := name "=" ('"' [^"<]* '"' | "'" [^'<]* "'")
//   content  := (chardata | reference | element | comment | "<![CDATA[" ... "]]>")*
//   reference:= "&lt;" | "&gt;" | "&amp;" | "&quot;" | "&apos;" | "&#" digits ";" | "&#x" hex ";"
#include "store/s3_xml.h"

#include <cstdint>

#include "util/status_macros.h"

namespace cloudkv {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class XmlReader {
 public:
  explicit XmlReader(std::string_view doc) : doc_(doc) {}

  Result<XmlElement> Parse() {
    if (doc_.size() > kMaxXmlBytes) return Error("document larger than the limit");
    if (Status s = SkipMisc(); !s.ok()) return s;
    if (pos_ >= doc_.size() || doc_[pos_] != '<') return Error("expected the root element");
    std::vector<Open> stack;
    size_t elements = 0;
    while (true) {
      if (pos_ >= doc_.size()) return Error("unexpected end of document (unclosed element)");
      char c = doc_[pos_];
      if (c != '<') {
        if (stack.empty()) return Error("text outside the root element");
        if (Status s = ReadText(&stack.back().element.text); !s.ok()) return s;
        continue;
      }
      if (Starts("<!--")) {
        if (stack.empty()) return Error("internal: comment outside root");
        if (Status s = SkipPast("-->"); !s.ok()) return s;
        continue;
      }
      if (Starts("<![CDATA[")) {
        if (stack.empty()) return Error("CDATA outside the root element");
        size_t end = doc_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return Error("unterminated CDATA section");
        stack.back().element.text.append(doc_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
        continue;
      }
      if (Starts("<!")) return Error("DOCTYPE and declarations are not accepted");
      if (Starts("<?")) {
        if (Status s = SkipPast("?>"); !s.ok()) return s;
        continue;
      }
      if (Starts("</")) {
        pos_ += 2;
        std::string name = ReadName();
        if (name.empty()) return Error("missing name in closing tag");
        SkipSpace();
        if (pos_ >= doc_.size() || doc_[pos_] != '>') return Error("malformed closing tag");
        pos_++;
        if (stack.empty() || stack.back().full_name != name) {
          return Error("closing tag </" + name + "> does not match the open element");
        }
        if (stack.size() == 1) {
          XmlElement root = std::move(stack.back().element);
          if (Status s = SkipMisc(); !s.ok()) return s;
          if (pos_ != doc_.size()) return Error("content after the root element");
          return root;
        }
        XmlElement done = std::move(stack.back().element);
        stack.pop_back();
        stack.back().element.children.push_back(std::move(done));
        continue;
      }
      // An opening tag.
      pos_++;
      std::string name = ReadName();
      if (name.empty()) return Error("missing element name after '<'");
      if (++elements > kMaxXmlElements) return Error("too many elements");
      bool self_closing = false;
      if (Status s = SkipAttributes(&self_closing); !s.ok()) return s;
      XmlElement element;
      size_t colon = name.rfind(':');
      element.name = colon == std::string::npos ? name : name.substr(colon + 1);
      // "<p:>" has a prefix and no name (found by fuzz/s3_xml_fuzzer).
      if (element.name.empty()) return Error("missing element name after prefix '" + name + "'");
      if (self_closing) {
        if (stack.empty()) {
          if (Status s = SkipMisc(); !s.ok()) return s;
          if (pos_ != doc_.size()) return Error("content after the root element");
          return element;
        }
        stack.back().element.children.push_back(std::move(element));
        continue;
      }
      if (stack.size() >= static_cast<size_t>(kMaxXmlDepth)) return Error("nested too deeply");
      stack.push_back(Open{std::move(name), std::move(element)});
    }
  }

 private:
  struct Open {
    std::string full_name;  // as written, with any prefix, to match the closing tag
    XmlElement element;
  };

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("malformed XML at byte " + std::to_string(pos_) + ": " + what);
  }
  bool Starts(std::string_view s) const { return doc_.substr(pos_, s.size()) == s; }
  void SkipSpace() {
    while (pos_ < doc_.size() && IsSpace(doc_[pos_])) pos_++;
  }
  Status SkipPast(std::string_view end) {
    size_t at = doc_.find(end, pos_);
    if (at == std::string_view::npos) return Error("unterminated '" + std::string(end) + "'");
    pos_ = at + end.size();
    return Status::OK();
  }
  // Whitespace, comments and processing instructions outside the root.
  Status SkipMisc() {
    while (true) {
      SkipSpace();
      if (Starts("<?")) {
        RETURN_IF_ERROR(SkipPast("?>"));
      } else if (Starts("<!--")) {
        RETURN_IF_ERROR(SkipPast("-->"));
      } else if (Starts("<!")) {
        return Error("DOCTYPE and declarations are not accepted");
      } else {
        return Status::OK();
      }
    }
  }
  std::string ReadName() {
    size_t start = pos_;
    while (pos_ < doc_.size() && IsNameChar(doc_[pos_])) pos_++;
    return std::string(doc_.substr(start, pos_ - start));
  }
  Status SkipAttributes(bool* self_closing) {
    while (true) {
      SkipSpace();
      if (pos_ >= doc_.size()) return Error("unterminated tag");
      if (doc_[pos_] == '>') {
        pos_++;
        return Status::OK();
      }
      if (Starts("/>")) {
        pos_ += 2;
        *self_closing = true;
        return Status::OK();
      }
      if (ReadName().empty()) return Error("bad attribute name");
      SkipSpace();
      if (pos_ >= doc_.size() || doc_[pos_] != '=') return Error("attribute without '='");
      pos_++;
      SkipSpace();
      if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) {
        return Error("attribute value without quotes");
      }
      char quote = doc_[pos_++];
      size_t end = doc_.find(quote, pos_);
      if (end == std::string_view::npos) return Error("unterminated attribute value");
      if (doc_.substr(pos_, end - pos_).find('<') != std::string_view::npos) {
        return Error("'<' in attribute value");
      }
      pos_ = end + 1;
    }
  }
  Status ReadText(std::string* out) {
    while (pos_ < doc_.size() && doc_[pos_] != '<') {
      char c = doc_[pos_];
      if (c != '&') {
        out->push_back(c);
        pos_++;
        continue;
      }
      size_t semi = doc_.find(';', pos_);
      if (semi == std::string_view::npos || semi - pos_ > 12) return Error("malformed entity");
      std::string_view ent = doc_.substr(pos_ + 1, semi - pos_ - 1);
      if (ent == "lt") {
        out->push_back('<');
      } else if (ent == "gt") {
        out->push_back('>');
      } else if (ent == "amp") {
        out->push_back('&');
      } else if (ent == "quot") {
        out->push_back('"');
      } else if (ent == "apos") {
        out->push_back('\'');
      } else if (ent.size() >= 2 && ent[0] == '#') {
        bool hex = ent[1] == 'x';
        std::string_view digits = ent.substr(hex ? 2 : 1);
        if (digits.empty()) return Error("empty character reference");
        uint32_t cp = 0;
        for (char d : digits) {
          int v = -1;
          if (d >= '0' && d <= '9') v = d - '0';
          if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
          if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
          if (v < 0) return Error("bad character reference");
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
          if (cp > 0x10FFFF) return Error("character reference out of range");
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return Error("invalid character reference");
        AppendUtf8(cp, out);
      } else {
        return Error("unknown entity '&" + std::string(ent) + ";'");
      }
      pos_ = semi + 1;
    }
    return Status::OK();
  }

  std::string_view doc_;
  size_t pos_ = 0;
};

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::string XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* c = Child(child_name);
  return c ? c->text : std::string();
}

Result<XmlElement> ParseXml(std::string_view document) { return XmlReader(document).Parse(); }

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

void AppendXml(const XmlElement& element, std::string* out) {
  *out += "<" + element.name + ">" + XmlEscape(element.text);
  for (const XmlElement& child : element.children) AppendXml(child, out);
  *out += "</" + element.name + ">";
}

}  // namespace

std::string FormatXml(const XmlElement& root) {
  std::string out;
  AppendXml(root, &out);
  return out;
}

}  // namespace cloudkv
