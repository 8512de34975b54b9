// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the XML reader for S3 responses (store/s3_xml.h). ParseXml accepts a document
// or rejects it with InvalidArgument; an accepted tree is written out with FormatXml and must
// parse back to the same tree.
#include <string>

#include "fuzz/fuzz_check.h"
#include "store/s3_xml.h"

using namespace cloudkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto root = ParseXml(fuzz::AsView(data, size));
  if (!root.ok()) {
    FUZZ_CHECK(root.status().IsInvalidArgument());
    return 0;
  }
  const std::string formatted = FormatXml(*root);
  auto again = ParseXml(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *root);
  return 0;
}
