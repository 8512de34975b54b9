// SPDX-License-Identifier: Apache-2.0
// The data commands of `cloudkv` (get/scan/load/dump/stats/gc), behind the argument parsing of
// cli.cc. Each returns the process exit code (kExitOk, kExitFailure) after printing its output
// on stdout and any error on stderr.
#ifndef CLOUDKV_CLI_COMMANDS_H_
#define CLOUDKV_CLI_COMMANDS_H_

#include <cstdint>
#include <string>

namespace cloudkv::cli {

inline constexpr int kExitOk = 0;
// The command failed: the database could not be opened, a key is absent, bad input, ...
inline constexpr int kExitFailure = 1;
// The command line itself is wrong (unknown command or option, missing argument).
inline constexpr int kExitUsage = 2;

// A database URL as the user typed it: a bare absolute path means file://PATH.
std::string NormalizeUrl(const std::string& url_or_path);

struct OpenArgs {
  std::string url;
  bool create = false;  // --create: may create a database in a non-empty location
};

struct ScanArgs {
  std::string prefix, start, end;
  uint64_t limit = 0;
  bool reverse = false;
  bool json = false;   // JSON lines instead of TSV
  bool redis = false;  // decode the encoding of `cloudkv serve`
  // --as-of POINT or --checkpoint NAME: read the database as it was then (a ReadPoint spelling,
  // see cloudkv/read_point.h; "checkpoint:NAME" for --checkpoint). Empty: the present.
  std::string as_of;
};

int Put(const OpenArgs& open, const std::string& key, const std::string& value);
int Del(const OpenArgs& open, const std::string& key);
int Get(const std::string& url, const std::string& key, bool redis, bool json,
        const std::string& as_of = "");
int ScanCommand(const std::string& url, const ScanArgs& args);
// `format_given`: --format was on the command line (else a .json file gets a hint).
int Load(const OpenArgs& open, const std::string& file, const std::string& format,
         bool format_given, bool flush);
int Dump(const std::string& url, const std::string& file, const std::string& format,
         const ScanArgs& args);
int Stats(const std::string& url, bool json);
int Gc(const std::string& url, bool list, bool json);

}  // namespace cloudkv::cli

#endif  // CLOUDKV_CLI_COMMANDS_H_
