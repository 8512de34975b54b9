// SPDX-License-Identifier: Apache-2.0
#include "cloudkv/object_store.h"

#include "store/stores.h"
#include "store/url.h"
#include "util/status_macros.h"

namespace cloudkv {

Status ObjectStore::DeleteMany(std::span<const std::string> keys) {
  // Check every key first, so a bad key anywhere in the batch deletes nothing.
  for (const auto& key : keys) RETURN_IF_ERROR(ValidateObjectKey(key));
  for (const auto& key : keys) RETURN_IF_ERROR(Delete(key));
  return Status::OK();
}

Status ValidateObjectKey(std::string_view key) {
  auto bad = [&](std::string_view rule) {
    std::string shown(key.substr(0, 200));
    for (auto& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    }
    return Status::InvalidArgument("object key '" + shown + "': " + std::string(rule));
  };
  if (key.empty()) return bad("empty");
  if (key.size() > 1024) return bad("longer than 1024 bytes");
  for (char c : key) {
    if (c == '\0') return bad("contains NUL");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return bad("contains a control character");
  }
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? key.npos : slash - start);
    if (seg.empty()) return bad("empty path segment (leading, trailing or double '/')");
    if (seg == "." || seg == "..") return bad("'.' or '..' segment");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::OK();
}

Result<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view url,
                                                     const ObjectStoreOptions& options) {
  ASSIGN_OR_RETURN(StoreUrl parsed, ParseStoreUrl(url));
  // The URL's own parameters win over the caller's extra ones (see ObjectStoreOptions).
  for (const auto& [k, v] : options.params) parsed.params.emplace(k, v);
  std::map<std::string, std::string> params = parsed.params;
  std::shared_ptr<ObjectStore> base;
  if (parsed.scheme == "memory") {
    bool isolated = false;
    if (auto it = params.find("private"); it != params.end()) {
      ASSIGN_OR_RETURN(isolated, ParseBoolOption("private", it->second));
      params.erase(it);
    }
    base = isolated ? NewPrivateMemoryStore(parsed.name) : NewMemoryStore(parsed.name);
  } else if (parsed.scheme == "file") {
    ASSIGN_OR_RETURN(base, NewLocalStore(parsed.path, &params, nullptr, options.create_location));
  } else {
    ASSIGN_OR_RETURN(base, NewS3Store(parsed, &params));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store,
                   ApplyStoreWrappers(std::move(base), &params));
  if (!params.empty()) {
    std::string names;
    for (const auto& [k, v] : params) names += (names.empty() ? "'" : ", '") + k + "'";
    return Status::InvalidArgument("URL '" + std::string(url) + "': unknown option " + names +
                                   " (see docs/object-stores.md)");
  }
  return store;
}

}  // namespace cloudkv
