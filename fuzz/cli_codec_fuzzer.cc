// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the record codecs of `cloudkv load` and `dump` (cli/cli.h): TSV escaping must
// invert (UnescapeTsv(EscapeTsv(x)) == x, and escaped text has no tab or newline), UnescapeTsv
// and ParseJsonRecord must accept or reject any line without crashing, and a TSV value that
// unescapes must escape back to text that unescapes to the same bytes.
#include <string>

#include "cli/cli.h"
#include "fuzz/fuzz_check.h"

using namespace cloudkv::cli;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = cloudkv::fuzz::AsView(data, size);
  const std::string escaped = EscapeTsv(in);
  FUZZ_CHECK(escaped.find_first_of("\t\n\r") == std::string::npos);
  auto back = UnescapeTsv(escaped);
  FUZZ_CHECK(back.has_value() && *back == in);
  if (auto unescaped = UnescapeTsv(in)) {
    auto again = UnescapeTsv(EscapeTsv(*unescaped));
    FUZZ_CHECK(again.has_value() && *again == *unescaped);
  }
  (void)ParseJsonRecord(in);
  return 0;
}
