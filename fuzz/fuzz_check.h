// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the fuzz targets (fuzz/*_fuzzer.cc).
//
// A fuzz target feeds untrusted bytes to one decoder and checks its contract: every failure is
// a Status of the documented kind (never a crash, a hang or a huge allocation, which the
// sanitizers and libFuzzer's -rss_limit_mb / -malloc_limit_mb catch), and what decodes
// re-encodes to something that decodes to the same value. FUZZ_CHECK aborts with the failed
// condition, which libFuzzer reports as a crash with the input that caused it.
#ifndef CLOUDKV_FUZZ_FUZZ_CHECK_H_
#define CLOUDKV_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "cloudkv/status.h"

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace cloudkv::fuzz {

// Aborts unless `status` is OK or Corruption (what a decoder of stored bytes may return).
inline void CheckOkOrCorruption(const Status& status) {
  if (status.ok() || status.IsCorruption()) return;
  std::fprintf(stderr, "unexpected status: %s\n", status.ToString().c_str());
  std::abort();
}

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace cloudkv::fuzz

#endif  // CLOUDKV_FUZZ_FUZZ_CHECK_H_
