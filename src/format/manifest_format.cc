// SPDX-License-Identifier: Apache-2.0
// Manifest object grammar (docs/format-manifest.md):
//   manifest := magic[8]="CKVMANI1" fixed32(format_version) varint32(len) proto[len]
//               fixed64(XXH3-64 of everything before)
//   boundary := magic[8]="CKVBNDRY" fixed64(version) fixed64(XXH3-64 of everything before)
#include "format/manifest_format.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "util/coding.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr std::string_view kPrefix = kManifestPrefix;

constexpr std::string_view kMagic = "CKVMANI1";
constexpr std::string_view kSuffix = ".manifest";
constexpr std::string_view kBoundaryMagic = "CKVBNDRY";
constexpr size_t kBoundaryBytes = 24;

Status Corrupt(std::string_view key, std::string_view what) {
  return Status::Corruption("manifest object '" + std::string(key) + "': " + std::string(what));
}

}  // namespace

std::string ManifestObjectKey(uint64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "manifest/%020" PRIu64 ".manifest", version);
  return buf;
}

Result<uint64_t> ParseManifestObjectKey(std::string_view key) {
  if (key.size() != kPrefix.size() + 20 + kSuffix.size() ||
      key.substr(0, kPrefix.size()) != kPrefix ||
      key.substr(key.size() - kSuffix.size()) != kSuffix) {
    return Status::InvalidArgument("not a manifest object key: '" + std::string(key) + "'");
  }
  uint64_t v = 0;
  for (char c : key.substr(kPrefix.size(), 20)) {
    if (c < '0' || c > '9')
      return Status::InvalidArgument("bad manifest key '" + std::string(key) + "'");
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string EncodeManifestBoundary(uint64_t version) {
  std::string out(kBoundaryMagic);
  PutFixed64(&out, version);
  PutFixed64(&out, Checksum64(out));
  return out;
}

Result<uint64_t> DecodeManifestBoundary(std::string_view data) {
  if (data.size() != kBoundaryBytes) {
    return Corrupt(kManifestBoundaryKey, "size " + std::to_string(data.size()) + ", expected " +
                                             std::to_string(kBoundaryBytes));
  }
  if (data.substr(0, kBoundaryMagic.size()) != kBoundaryMagic) {
    return Corrupt(kManifestBoundaryKey, "bad magic at offset 0");
  }
  if (DecodeFixed64(data.data() + 16) != Checksum64(data.substr(0, 16))) {
    return Corrupt(kManifestBoundaryKey, "checksum mismatch at offset 16");
  }
  return DecodeFixed64(data.data() + 8);
}

std::string EncodeManifest(const Manifest& manifest) {
  std::string body;
  manifest.SerializeToString(&body);
  std::string out;
  out.reserve(body.size() + 32);
  out.append(kMagic);
  PutFixed32(&out, kManifestFormatVersion);
  PutLengthPrefixed(&out, body);
  PutFixed64(&out, Checksum64(out));
  return out;
}

Result<Manifest> DecodeManifest(std::string_view object_key, std::string_view data) {
  if (data.size() < kMagic.size() + 4 + 1 + 8)
    return Corrupt(object_key, "truncated (" + std::to_string(data.size()) + " bytes)");
  if (data.substr(0, kMagic.size()) != kMagic) return Corrupt(object_key, "bad magic at offset 0");
  std::string_view payload = data.substr(0, data.size() - 8);
  uint64_t stored = DecodeFixed64(data.data() + data.size() - 8);
  if (stored != Checksum64(payload)) {
    return Corrupt(object_key, "checksum mismatch at offset " + std::to_string(payload.size()));
  }
  std::string_view in = payload.substr(kMagic.size());
  uint32_t format_version;
  std::string_view body;
  if (!GetFixed32(&in, &format_version) || !GetLengthPrefixed(&in, &body) || !in.empty()) {
    return Corrupt(object_key, "malformed header or length at offset 8");
  }
  Manifest m;
  if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Corrupt(object_key, "protobuf body does not parse");
  }
  if (m.min_reader_version() > kManifestFormatVersion) {
    return Status::NotSupported("manifest object '" + std::string(object_key) +
                                "' needs reader version " + std::to_string(m.min_reader_version()) +
                                "; this binary reads up to " +
                                std::to_string(kManifestFormatVersion));
  }
  auto parsed = ParseManifestObjectKey(object_key);
  if (parsed.ok() && *parsed != m.version()) {
    return Corrupt(object_key, "records version " + std::to_string(m.version()));
  }
  return m;
}

std::string ManifestToJson(const Manifest& manifest) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  auto st = google::protobuf::util::MessageToJsonString(manifest, &out, opts);
  if (!st.ok()) return "{\"error\": \"cannot print manifest\"}";
  return out;
}

}  // namespace cloudkv
