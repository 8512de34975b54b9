// Operator tools that read a database's objects directly (docs/cli.md):
//   cloudkv inspect manifest|sst|wal   print one object as JSON
//   cloudkv verify                      check every object the database needs
// Both go straight to the object store, below the engine: they never open a DB, never take the
// writer epoch and never write, so they are safe to run beside a live writer (they cannot fence
// it). They use the internal codecs of src/db and src/format, which is why they live here and
// not behind the public API.
#ifndef CLOUDKV_CLI_INSPECT_H_
#define CLOUDKV_CLI_INSPECT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cli/json_writer.h"
#include "cloudkv/object_store.h"

namespace CLI {
class App;
}

namespace cloudkv::cli {

// Registers the subcommands on `app`; each stores its exit code in *rc when it runs (0 = OK,
// 1 = the database has a problem or the object is damaged, 2 = bad usage or unreachable).
void AddInspectCommands(CLI::App* app, int* rc);
void AddVerifyCommand(CLI::App* app, int* rc);

// Opens the store of a database URL for reading only. Unlike OpenObjectStore, a file:// URL
// whose directory does not exist is NotFound rather than created: inspecting must not modify.
Result<std::shared_ptr<ObjectStore>> OpenStoreReadOnly(const std::string& url);

// Writes an internal key (user key + sequence/type trailer) as
// {"user_key": "...", "sequence": N, "type": "value|deletion|range_deletion|separator"} (an
// index separator: the seek key of the largest sequence); a key too short
// to be an internal key is written as {"raw": "..."}.
void WriteInternalKey(JsonWriter* json, std::string_view internal_key);

// "value", "deletion", "range_deletion" for the value types of db/dbformat.h; "unknown"
// for anything else.
const char* ValueTypeName(uint8_t type);

}  // namespace cloudkv::cli

#endif  // CLOUDKV_CLI_INSPECT_H_
