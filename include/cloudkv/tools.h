// SPDX-License-Identifier: Apache-2.0
// Tools that read a database's objects directly, without opening it as a DB: what
// `cloudkv inspect` and `cloudkv verify` print (docs/cli.md), in the spirit of LevelDB's
// dumpfile.h and RocksDB's SstFileReader.
//
// Every call only reads: it never takes the writer epoch, never writes and holds no lease, so
// it is safe beside a running writer (it cannot fence it). What it reads may change under it:
// a writer commits new manifests, GC deletes what no manifest needs any more.
//
// Errors name the object: NotFound (no database at the URL, or no such object), Corruption or
// NotSupported (the object is damaged, or written by a newer format than this binary reads),
// InvalidArgument (a bad URL, id or key), IOError (the store failed).
//
// Thread-safety: the functions share no state; they may run concurrently.
#ifndef CLOUDKV_TOOLS_H_
#define CLOUDKV_TOOLS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv::tools {

// Each returns one JSON document, the exact output of the `cloudkv inspect` command of the same
// name.

// The stored manifest versions: [{"version", "object_key", "size_bytes"}, ...].
Result<std::string> ListManifests(std::string_view url);
// A manifest (the latest when `version` is empty) with its SSTs' key ranges. NotFound when the
// database or that version does not exist.
Result<std::string> InspectManifest(std::string_view url, std::optional<uint64_t> version);
// An SST's footer, properties, index summary, filter and range tombstones, and its first
// `entries` entries. `object` is "sst/<name>.sst" or the bare "<name>.sst".
Result<std::string> InspectSst(std::string_view url, std::string_view object, uint64_t entries);
// A WAL object (a segment with every batch, or a fence) by id ("42") or object key. With
// `values`, the values of puts too, not only their sizes.
Result<std::string> InspectWal(std::string_view url, std::string_view id_or_key, bool values);

// The body of a JSON string holding `bytes` exactly, as the tools write keys and values:
// printable ASCII as is (with \" and \\), every other byte as \u00HH, one code unit per
// byte, so a reader that maps each code point below 0x100 back to a byte gets the bytes.
std::string EscapeJson(std::string_view bytes);

struct VerifyOptions {
  // Also read and check every stored manifest version, not only the latest.
  bool all_manifests = false;
};

struct VerifyProblem {
  std::string object_key;
  std::string what;
};

// What `cloudkv verify` found. The database is intact when examined && problems.empty().
struct VerifyReport {
  // False when the database could not be examined at all (no manifest, or it is unreadable);
  // problems then says why.
  bool examined = false;
  std::vector<VerifyProblem> problems;  // in the order found
  std::vector<VerifyProblem> warnings;  // suspicious but possibly legitimate
  std::string summary;                  // the human-readable report
  std::string json;                     // the same as one JSON document
};

// Checks that every object the database needs exists and is intact: the latest manifest (or
// every one), every SST it references (every block's checksum, key order, index and property
// counts), the WAL objects from its replay point, and the checkpoints. Errors only when the
// store cannot be opened; everything found in the database is in the report.
Result<VerifyReport> Verify(std::string_view url, const VerifyOptions& options);

}  // namespace cloudkv::tools

#endif  // CLOUDKV_TOOLS_H_
