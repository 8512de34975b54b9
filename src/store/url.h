// SPDX-License-Identifier: Apache-2.0
// Parsing of store URLs (see docs/object-stores.md for the syntax):
//   memory://NAME[?QUERY]
//   file:///ABSOLUTE/PATH[?QUERY] | file://./RELATIVE/PATH[?QUERY]
//   s3://BUCKET[/PREFIX][?QUERY]
// QUERY is key=value pairs joined by '&', percent-encoded as in URLs.
#ifndef CLOUDKV_STORE_URL_H_
#define CLOUDKV_STORE_URL_H_

#include <map>
#include <string>
#include <string_view>

#include "cloudkv/status.h"

namespace cloudkv {

struct StoreUrl {
  std::string scheme;  // "memory", "file" or "s3"
  std::string name;    // memory: the store name
  std::string path;    // file: the directory path as written ("/abs" or "./rel")
  std::string bucket;  // s3
  std::string prefix;  // s3: without leading '/', with a trailing '/' unless empty
  std::map<std::string, std::string> params;
};

// Errors name the bad part: InvalidArgument("URL 'x': ...").
Result<StoreUrl> ParseStoreUrl(std::string_view url);

// Percent-decodes `in`; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out);

// Parses a boolean option value: 1/0, true/false, yes/no, on/off.
Result<bool> ParseBoolOption(std::string_view name, std::string_view value);
// Parses a non-negative integer option, with optional k/m/g (x1024) or ms/s suffix handling
// left to callers.
Result<uint64_t> ParseUintOption(std::string_view name, std::string_view value);
Result<double> ParseDoubleOption(std::string_view name, std::string_view value);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_URL_H_
