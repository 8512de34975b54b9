// SPDX-License-Identifier: Apache-2.0
#include "store/url.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include "cloudkv/object_store.h"

namespace cloudkv {
namespace {

Status Bad(std::string_view url, std::string_view what) {
  return Status::InvalidArgument("URL '" + std::string(url) + "': " + std::string(what));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// S3 bucket naming rules (the subset that matters for addressing).
bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return false;
    }
  }
  return std::isalnum(static_cast<unsigned char>(b.front())) &&
         std::isalnum(static_cast<unsigned char>(b.back()));
}

}  // namespace

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

Result<StoreUrl> ParseStoreUrl(std::string_view url) {
  if (url.empty()) return Bad(url, "empty; expected memory://, file:// or s3://");
  for (char c : url) {
    if (c == '\0' || static_cast<unsigned char>(c) < 0x20) {
      return Bad(url, "contains a control character");
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Bad(url,
               "missing scheme; expected memory://NAME, file:///PATH, file://./PATH or "
               "s3://BUCKET/PREFIX");
  }
  StoreUrl out;
  out.scheme = std::string(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // Query parameters.
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), &key) ||
        (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), &value))) {
      return Bad(url, "malformed percent-escape in query parameter '" + std::string(pair) + "'");
    }
    if (key.empty())
      return Bad(url, "query parameter with an empty name: '" + std::string(pair) + "'");
    if (eq == std::string_view::npos) value = "true";
    if (!out.params.emplace(key, value).second) {
      return Bad(url, "query parameter '" + key + "' given twice");
    }
  }
  std::string decoded;
  if (!PercentDecode(rest, &decoded)) return Bad(url, "malformed percent-escape in path");

  if (out.scheme == "memory") {
    if (decoded.empty()) return Bad(url, "memory:// needs a name, e.g. memory://test");
    if (decoded.find('/') != std::string::npos) {
      return Bad(url, "memory store name may not contain '/'");
    }
    for (char c : decoded) {
      if (c == '\0' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Bad(url, "memory store name contains NUL or a control character");
      }
    }
    out.name = decoded;
  } else if (out.scheme == "file") {
    if (decoded.empty()) {
      return Bad(url, "file:// needs a path: file:///absolute/path or file://./relative/path");
    }
    if (decoded.front() != '/' && decoded != "." && decoded != ".." &&
        decoded.rfind("./", 0) != 0 && decoded.rfind("../", 0) != 0) {
      return Bad(url,
                 "file:// path must be absolute (file:///var/db) or start with ./ or ../ "
                 "(file://./db); got '" +
                     decoded + "'");
    }
    // The URL was checked for control characters before decoding; "%00" or "%0A" decode to
    // them, and a path is handed to the OS as a C string.
    for (char c : decoded) {
      if (c == '\0' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Bad(url, "file:// path contains NUL or a control character once percent-decoded");
      }
    }
    out.path = decoded;
  } else if (out.scheme == "s3") {
    size_t slash = decoded.find('/');
    out.bucket = decoded.substr(0, slash);
    if (out.bucket.empty()) return Bad(url, "s3:// needs a bucket: s3://BUCKET/PREFIX");
    if (!ValidBucket(out.bucket)) {
      return Bad(url, "invalid bucket name '" + out.bucket +
                          "' (3-63 characters: lowercase letters, digits, '-' and '.')");
    }
    if (slash != std::string::npos) {
      std::string prefix = decoded.substr(slash + 1);
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      // "s3://bucket//x" has an empty first segment (found by fuzz/store_url_fuzzer).
      if (prefix.find("//") != std::string::npos || (!prefix.empty() && prefix.front() == '/')) {
        return Bad(url, "empty segment in S3 prefix");
      }
      // Object keys are the prefix plus a name: the prefix obeys the rules of object keys, so
      // no "." or ".." segment reaches a request path (where it could be normalised into
      // another bucket than the one signed) and no control character reaches a header.
      if (!prefix.empty()) {
        if (Status s = ValidateObjectKey(prefix); !s.ok()) {
          return Bad(url, "invalid S3 prefix: " + s.message());
        }
        out.prefix = prefix + "/";
      }
    }
  } else {
    return Bad(url, "unknown scheme '" + out.scheme + "'; expected memory, file or s3");
  }
  return out;
}

Result<bool> ParseBoolOption(std::string_view name, std::string_view value) {
  if (value == "1" || value == "true" || value == "yes" || value == "on") return true;
  if (value == "0" || value == "false" || value == "no" || value == "off") return false;
  return Status::InvalidArgument("option '" + std::string(name) +
                                 "': expected true or false, got '" + std::string(value) + "'");
}

Result<uint64_t> ParseUintOption(std::string_view name, std::string_view value) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
    return Status::InvalidArgument("option '" + std::string(name) +
                                   "': expected a non-negative integer, got '" +
                                   std::string(value) + "'");
  }
  return v;
}

Result<double> ParseDoubleOption(std::string_view name, std::string_view value) {
  std::string s(value);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v >= 0) || v > 1e18) {
    return Status::InvalidArgument("option '" + std::string(name) +
                                   "': expected a non-negative number, got '" + s + "'");
  }
  return v;
}

}  // namespace cloudkv
