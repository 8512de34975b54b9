// SPDX-License-Identifier: Apache-2.0
// The manifest's object format (docs/format-manifest.md): the ManifestProto schema
// (proto/manifest.proto), the object that wraps it (magic, format version, checksum), object
// keys, and the boundary object. The protocol that reads and commits manifests is
// db/manifest.h.
#ifndef CLOUDKV_FORMAT_MANIFEST_FORMAT_H_
#define CLOUDKV_FORMAT_MANIFEST_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "cloudkv/status.h"
#include "proto/manifest.pb.h"

namespace cloudkv {

inline constexpr std::string_view kManifestPrefix = "manifest/";

using Manifest = proto::ManifestProto;

// Format version written by this binary; it reads every version up to this one.
//   1: the first format.
//   2: replay_epoch. A version-1 binary would ignore it and replay an older writer's late
//      upload at the replay point, so it must refuse manifests of version 2.
constexpr uint32_t kManifestFormatVersion = 2;
// Readers older than this must refuse what this binary writes.
constexpr uint32_t kManifestMinReaderVersion = 2;

std::string ManifestObjectKey(uint64_t version);
// Parses "manifest/<digits>.manifest"; NotFound-free: InvalidArgument if not a manifest key.
Result<uint64_t> ParseManifestObjectKey(std::string_view key);

// The boundary object: the lowest manifest version that may still exist.
inline constexpr std::string_view kManifestBoundaryKey = "manifest/BOUNDARY";
std::string EncodeManifestBoundary(uint64_t version);
// Corruption naming manifest/BOUNDARY for any damage.
Result<uint64_t> DecodeManifestBoundary(std::string_view data);

std::string EncodeManifest(const Manifest& manifest);
// Corruption naming `object_key` for any damage; NotSupported if min_reader_version is newer
// than this binary.
Result<Manifest> DecodeManifest(std::string_view object_key, std::string_view data);

// Prints a manifest as JSON (for `cloudkv inspect manifest`).
std::string ManifestToJson(const Manifest& manifest);

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_MANIFEST_FORMAT_H_
