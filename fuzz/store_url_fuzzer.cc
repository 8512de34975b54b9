// SPDX-License-Identifier: Apache-2.0
// Fuzz target: store URL parsing (store/url.h). ParseStoreUrl accepts a URL or rejects it with
// InvalidArgument; an accepted URL is written out again with every byte percent-encoded
// that may be, and must parse to the same fields. PercentDecode must invert percent-encoding,
// and the option parsers must accept or reject any value with InvalidArgument.
#include <string>

#include "fuzz/fuzz_check.h"
#include "store/url.h"

using namespace cloudkv;

namespace {

std::string PercentEncode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~' || (keep_slash && u == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

void CheckStatus(const Status& status) { FUZZ_CHECK(status.ok() || status.IsInvalidArgument()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsView(data, size);
  std::string decoded;
  if (PercentDecode(in, &decoded)) FUZZ_CHECK(decoded.size() <= in.size());
  std::string again;
  FUZZ_CHECK(PercentDecode(PercentEncode(in, false), &again) && again == in);
  CheckStatus(ParseBoolOption("fuzz", in).status());
  CheckStatus(ParseUintOption("fuzz", in).status());
  CheckStatus(ParseDoubleOption("fuzz", in).status());

  auto url = ParseStoreUrl(in);
  if (!url.ok()) {
    FUZZ_CHECK(url.status().IsInvalidArgument());
    return 0;
  }
  std::string body;
  if (url->scheme == "memory") {
    body = url->name;
  } else if (url->scheme == "file") {
    body = url->path;
  } else {
    FUZZ_CHECK(url->scheme == "s3");
    FUZZ_CHECK(url->prefix.empty() || (url->prefix.back() == '/' && url->prefix.front() != '/'));
    body = url->bucket + "/" + url->prefix;
  }
  std::string text = url->scheme + "://" + PercentEncode(body, true);
  char separator = '?';
  for (const auto& [key, value] : url->params) {
    text += separator + PercentEncode(key, false) + "=" + PercentEncode(value, false);
    separator = '&';
  }
  auto reparsed = ParseStoreUrl(text);
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(reparsed->scheme == url->scheme && reparsed->name == url->name &&
             reparsed->path == url->path && reparsed->bucket == url->bucket &&
             reparsed->prefix == url->prefix && reparsed->params == url->params);
  return 0;
}
