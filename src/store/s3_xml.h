// SPDX-License-Identifier: Apache-2.0
// A small, strict, bounded XML reader for S3 responses (ListObjectsV2, errors, multipart,
// DeleteObjects) and an escaper for the request bodies we send.
//
// Accepted: an optional <?xml ...?> declaration, comments, elements with attributes (ignored),
// character data with the five predefined entities and numeric character references, and
// CDATA sections. Rejected with InvalidArgument (callers turn it into an error naming the
// request): DOCTYPE (no entity expansion at all), mismatched or unclosed tags, text outside
// the root, more than kMaxXmlDepth levels, more than kMaxXmlElements elements, or input over
// kMaxXmlBytes. The reader never reads past the input and never recurses without a bound.
//
// Thread-safety: pure functions; XmlElement is a value.
#ifndef CLOUDKV_STORE_S3_XML_H_
#define CLOUDKV_STORE_S3_XML_H_

#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv {

inline constexpr size_t kMaxXmlBytes = 64 << 20;
inline constexpr int kMaxXmlDepth = 32;
inline constexpr size_t kMaxXmlElements = 200000;

struct XmlElement {
  std::string name;  // local name: any "prefix:" is dropped
  std::string text;  // concatenated character data directly inside this element
  std::vector<XmlElement> children;

  // The first child named `name`, or nullptr.
  const XmlElement* Child(std::string_view name) const;
  // The text of the first child named `name`, or "" when there is none.
  std::string ChildText(std::string_view name) const;

  friend bool operator==(const XmlElement&, const XmlElement&) = default;
};

// Parses a whole document and returns its root element.
Result<XmlElement> ParseXml(std::string_view document);

// Escapes &, <, >, " and ' for element text and attribute values.
std::string XmlEscape(std::string_view text);

// Writes `root` as a document that ParseXml reads back to an equal tree: each element's text
// (escaped) comes before its children. For tests and fuzzing of the reader.
std::string FormatXml(const XmlElement& root);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_S3_XML_H_
