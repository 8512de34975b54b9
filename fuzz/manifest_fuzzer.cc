// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a manifest object and the boundary object (format/manifest_format.h). When the
// first input byte is odd, the target first fixes the object's checksum so the protobuf body
// is reached. A decoded manifest is encoded again and must decode to an equal message; it must
// also print as JSON (`cloudkv inspect`).
#include <string>

#include "format/manifest_format.h"
#include "fuzz/fuzz_check.h"
#include "util/coding.h"
#include "util/hash.h"

using namespace cloudkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(fuzz::AsView(data + 1, size - 1));
  if ((data[0] & 1) != 0 && bytes.size() >= 8) {
    const size_t n = bytes.size() - 8;
    EncodeFixed64(bytes.data() + n, Checksum64(std::string_view(bytes).substr(0, n)));
  }
  if ((data[0] & 2) != 0) {
    auto version = DecodeManifestBoundary(bytes);
    if (!version.ok()) {
      FUZZ_CHECK(version.status().IsCorruption());
      return 0;
    }
    FUZZ_CHECK(EncodeManifestBoundary(*version) == bytes);
    return 0;
  }
  // A key with no version, so the body's version is not checked against it.
  auto manifest = DecodeManifest("manifest/fuzz", bytes);
  if (!manifest.ok()) {
    FUZZ_CHECK(manifest.status().IsCorruption() || manifest.status().IsNotSupported());
    return 0;
  }
  const std::string encoded = EncodeManifest(*manifest);
  auto again = DecodeManifest(ManifestObjectKey(manifest->version()), encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->SerializeAsString() == manifest->SerializeAsString());
  FUZZ_CHECK(EncodeManifest(*again) == encoded);
  FUZZ_CHECK(!ManifestToJson(*manifest).empty());
  return 0;
}
