// SPDX-License-Identifier: Apache-2.0
// Internals shared by the tools of cloudkv/tools.h (inspect, verify).
#ifndef CLOUDKV_TOOLS_TOOLS_INTERNAL_H_
#define CLOUDKV_TOOLS_TOOLS_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cloudkv/object_store.h"
#include "tools/json_writer.h"

namespace cloudkv::tools {

// Opens the store of a database URL for reading only. Unlike OpenObjectStore's default, a
// file:// directory that does not exist, or holds no .cloudkv/, is NotFound rather than
// created: inspecting must not modify.
Result<std::shared_ptr<ObjectStore>> OpenStoreReadOnly(const std::string& url);

// Writes an internal key (user key + sequence/type trailer) as
// {"user_key": "...", "sequence": N, "type": "value|deletion|range_deletion|separator"} (an
// index separator: the seek key of the largest sequence); a key too short
// to be an internal key is written as {"raw": "..."}.
void WriteInternalKey(JsonWriter* json, std::string_view internal_key);

// "value", "deletion", "range_deletion" for the value types of format/dbformat.h; "unknown"
// for anything else.
const char* ValueTypeName(uint8_t type);

}  // namespace cloudkv::tools

#endif  // CLOUDKV_TOOLS_TOOLS_INTERNAL_H_
