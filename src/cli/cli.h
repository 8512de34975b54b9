// SPDX-License-Identifier: Apache-2.0
// The `cloudkv` command line: put/get/del/scan/load/dump/stats on a database URL, and serve.
#ifndef CLOUDKV_CLI_CLI_H_
#define CLOUDKV_CLI_CLI_H_

#include <optional>
#include <string>
#include <string_view>

namespace cloudkv::cli {

// Runs the command line; returns the process exit code.
int Main(int argc, char** argv);

// TSV escaping used by scan/dump/load: \t \n \r \\ and other bytes < 0x20 or 0x7f as \xHH.
std::string EscapeTsv(std::string_view bytes);
std::optional<std::string> UnescapeTsv(std::string_view text);
// Parses one JSON-lines record {"key": "...", "value": "..."}; nullopt if malformed. \u00HH
// escapes below 0x100 give that byte; higher code points are UTF-8 encoded.
std::optional<std::pair<std::string, std::string>> ParseJsonRecord(std::string_view line);

}  // namespace cloudkv::cli

#endif  // CLOUDKV_CLI_CLI_H_
