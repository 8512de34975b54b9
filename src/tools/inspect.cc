// SPDX-License-Identifier: Apache-2.0
// The inspect tools (cloudkv/tools.h): one object of a database as JSON. Reads only; the
// document is built in memory and returned once complete, so a failure returns no partial
// output.
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <ctime>

#include "cloudkv/clock.h"
#include "cloudkv/tools.h"
#include "db/manifest.h"
#include "format/dbformat.h"
#include "format/sst_reader.h"
#include "format/wal_format.h"
#include "store/url.h"
#include "tools/tools_internal.h"
#include "util/status_macros.h"

namespace cloudkv::tools {
namespace {

Status Fail(const Status& status, std::string_view what) { return status.WithContext(what); }

Result<std::string> Print(const JsonWriter& json) {
  assert(json.complete());
  return json.str();
}

// "2026-11-24T01:02:03.456789Z"; empty for 0 (unset).
std::string FormatTimeMicros(uint64_t micros) {
  if (micros == 0) return "";
  std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return "";
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06uZ", static_cast<unsigned>(micros % 1'000'000));
  return buf;
}

void WriteTime(JsonWriter* json, std::string_view name, uint64_t micros) {
  json->Member(name, micros);
  std::string text = FormatTimeMicros(micros);
  if (!text.empty()) json->Member(std::string(name.substr(0, name.rfind("_micros"))), text);
}

void WriteHandle(JsonWriter* json, std::string_view name, const BlockHandle& handle) {
  json->Key(name).BeginObject();
  json->Member("offset", handle.offset);
  json->Member("size", handle.size);
  json->EndObject();
}

// ---- inspect manifest ----------------------------------------------------------------------

Result<std::string> ListManifestsIn(ObjectStore* store) {
  JsonWriter json;
  json.BeginArray();
  std::string after;
  while (true) {
    auto page = store->List("manifest/", after);
    if (!page.ok()) return Fail(page.status(), "listing manifest/");
    for (const ObjectInfo& info : page->objects) {
      auto version = ParseManifestObjectKey(info.key);
      if (!version.ok()) continue;  // LATEST, BOUNDARY
      json.BeginObject();
      json.Member("version", *version);
      json.Member("object_key", info.key);
      json.Member("size_bytes", info.size);
      json.EndObject();
    }
    if (!page->truncated || page->objects.empty()) break;
    after = page->objects.back().key;
  }
  json.EndArray();
  return Print(json);
}

void WriteSstRanges(JsonWriter* json, const Manifest& m) {
  json->Key("ssts").BeginArray();
  auto one = [&](const proto::SstMeta& sst, int level) {
    json->BeginObject();
    json->Key("level").Int(level);
    json->Member("object_key", sst.object_key());
    if (!sst.db_url().empty()) json->Member("db_url", sst.db_url());
    json->Member("size_bytes", sst.size_bytes());
    json->Member("num_entries", sst.num_entries());
    json->Key("smallest");
    WriteInternalKey(json, sst.smallest_key());
    json->Key("largest");
    WriteInternalKey(json, sst.largest_key());
    json->EndObject();
  };
  for (const auto& sst : m.l0()) one(sst, 0);
  for (int i = 0; i < m.levels_size(); i++) {
    for (const auto& sst : m.levels(i).ssts()) one(sst, i + 1);
  }
  json->EndArray();
}

}  // namespace

Result<std::string> ListManifests(std::string_view url) {
  auto store = OpenStoreReadOnly(std::string(url));
  if (!store.ok()) return Fail(store.status(), "cannot open " + std::string(url));
  return ListManifestsIn(store->get());
}

Result<std::string> InspectManifest(std::string_view url_view, std::optional<uint64_t> version) {
  const std::string url(url_view);
  auto store = OpenStoreReadOnly(url);
  if (!store.ok()) return Fail(store.status(), "cannot open " + url);
  ManifestStore manifests(*store, SystemClock());
  auto m = version.has_value() ? manifests.Load(*version) : manifests.LoadLatest();
  if (!m.ok()) {
    if (m.status().IsNotFound()) {
      return Status::NotFound(version.has_value()
                                  ? "no manifest version " + std::to_string(*version) + " in " + url
                                  : "no database at " + url);
    }
    return Fail(m.status(), "reading the manifest");
  }
  JsonWriter json;
  json.BeginObject();
  json.Member("object_key", ManifestObjectKey(m->version()));
  json.Key("manifest").Raw(ManifestToJson(*m));
  // The manifest's keys are protobuf bytes (base64 in its JSON): repeat them readably.
  WriteSstRanges(&json, *m);
  json.EndObject();
  return Print(json);
}

namespace {

// ---- inspect sst ---------------------------------------------------------------------------

void WriteProperties(JsonWriter* json, const SstProperties& p) {
  json->Key("properties").BeginObject();
  json->Member("num_entries", p.num_entries);
  json->Member("num_deletions", p.num_deletions);
  json->Member("num_range_deletions", p.num_range_deletions);
  json->Member("raw_key_bytes", p.raw_key_bytes);
  json->Member("raw_value_bytes", p.raw_value_bytes);
  json->Member("data_bytes", p.data_bytes);
  json->Member("index_bytes", p.index_bytes);
  json->Member("filter_bytes", p.filter_bytes);
  json->Key("smallest_key");
  WriteInternalKey(json, p.smallest_key);
  json->Key("largest_key");
  WriteInternalKey(json, p.largest_key);
  json->Member("smallest_seq", p.smallest_seq);
  json->Member("largest_seq", p.largest_seq);
  WriteTime(json, "create_time_micros", p.create_time_micros);
  json->Member("epoch", p.epoch);
  json->Key("nonce").Hex64(p.nonce);
  json->EndObject();
}

void WriteIndexSummary(JsonWriter* json, const SstReader& reader) {
  const size_t n = reader.num_data_blocks();
  json->Key("index").BeginObject();
  json->Member("data_blocks", static_cast<uint64_t>(n));
  if (n > 0) {
    uint64_t smallest = UINT64_MAX, largest = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t size = reader.block_handle(i).size;
      smallest = std::min(smallest, size);
      largest = std::max(largest, size);
      total += size;
    }
    json->Member("smallest_block_bytes", smallest);
    json->Member("largest_block_bytes", largest);
    json->Member("average_block_bytes", total / n);
    json->Key("first_index_key");
    WriteInternalKey(json, reader.index_key(0));
    json->Key("last_index_key");
    WriteInternalKey(json, reader.index_key(n - 1));
  }
  json->EndObject();
}

// A bare name ("01J...-9f3a.sst") means "sst/<name>".
std::string SstKey(const std::string& arg) {
  return arg.find('/') == std::string::npos ? "sst/" + arg : arg;
}

}  // namespace

Result<std::string> InspectSst(std::string_view url_view, std::string_view key_arg,
                               uint64_t entries) {
  const std::string url(url_view);
  auto store = OpenStoreReadOnly(url);
  if (!store.ok()) return Fail(store.status(), "cannot open " + url);
  const std::string key = SstKey(std::string(key_arg));
  auto info = (*store)->Head(key);
  if (!info.ok()) return Fail(info.status(), "cannot read '" + key + "'");
  SstReadOptions options;
  options.read_unit_bytes = 0;  // no cache, exact block reads: inspect reads little
  auto reader = SstReader::Open(*store, key, info->size, options);
  if (!reader.ok()) return Fail(reader.status(), "cannot open SST '" + key + "'");
  const SstFooter& footer = (*reader)->footer();

  JsonWriter json;
  json.BeginObject();
  json.Member("object_key", key);
  json.Member("size_bytes", info->size);
  json.Key("footer").BeginObject();
  json.Member("format_version", uint64_t{footer.format_version});
  json.Member("epoch", footer.epoch);
  json.Key("nonce").Hex64(footer.nonce);
  json.Member("header_checksum", uint64_t{footer.header_checksum});
  json.Key("metadata_checksum").Hex64(footer.metadata_checksum);
  WriteHandle(&json, "filter", footer.filter);
  WriteHandle(&json, "properties", footer.properties);
  WriteHandle(&json, "index", footer.index);
  json.EndObject();
  WriteProperties(&json, (*reader)->properties());
  WriteIndexSummary(&json, **reader);
  json.Key("filter").BeginObject();
  json.Member("present", footer.filter.size > 0);
  json.Member("bytes", footer.filter.size);
  const uint64_t keys = (*reader)->properties().num_entries;
  if (keys > 0) json.Key("bits_per_entry").Double(8.0 * footer.filter.size / keys);
  json.EndObject();
  json.Member("pinned_metadata_bytes", uint64_t{(*reader)->pinned_bytes()});
  // Format version 2: the range-deletion block, as stored (unfragmented).
  json.Key("range_tombstones").BeginArray();
  for (const RangeTombstone& t : (*reader)->range_tombstones()) {
    json.BeginObject();
    json.Member("begin", t.begin);
    json.Member("end", t.end);
    json.Member("sequence", t.seq);
    json.EndObject();
  }
  json.EndArray();
  if (entries > 0) {
    json.Key("entries").BeginArray();
    std::unique_ptr<Iterator> it = (*reader)->NewIterator(/*fill_cache=*/false);
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid() && n < entries; it->Next(), n++) {
      ParsedInternalKey parsed;
      json.BeginObject();
      if (ParseInternalKey(it->key(), &parsed)) {
        json.Member("user_key", parsed.user_key);
        json.Member("sequence", parsed.sequence);
        json.Member("type", ValueTypeName(parsed.type));
      } else {
        json.Member("raw_key", it->key());
      }
      json.Member(parsed.type == kTypeRangeDeletion ? "end_key" : "value", it->value());
      json.Member("value_bytes", uint64_t{it->value().size()});
      json.EndObject();
    }
    if (!it->status().ok()) return Fail(it->status(), "reading entries of '" + key + "'");
    json.EndArray();
  }
  json.EndObject();
  return Print(json);
}

namespace {

// ---- inspect wal ---------------------------------------------------------------------------

// Writes each record of a batch as {"op": ..., "key": ..., "value_bytes": ...}.
class OpWriter : public WriteBatch::Handler {
 public:
  OpWriter(JsonWriter* json, bool values) : json_(json), values_(values) {}
  Status Put(std::string_view key, std::string_view value) override {
    json_->BeginObject();
    json_->Member("op", "put");
    json_->Member("key", key);
    json_->Member("value_bytes", uint64_t{value.size()});
    if (values_) json_->Member("value", value);
    json_->EndObject();
    return Status::OK();
  }
  Status Delete(std::string_view key) override {
    json_->BeginObject();
    json_->Member("op", "delete");
    json_->Member("key", key);
    json_->EndObject();
    return Status::OK();
  }
  Status DeleteRange(std::string_view begin, std::string_view end) override {
    json_->BeginObject();
    json_->Member("op", "delete_range");
    json_->Member("begin", begin);
    json_->Member("end", end);
    json_->EndObject();
    return Status::OK();
  }

 private:
  JsonWriter* json_;
  bool values_;
};

// An id ("42") or an object key ("wal/00000000000000000042.wal").
Result<std::string> WalKey(const std::string& arg) {
  if (!arg.empty() && arg.size() <= 20 &&
      std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return WalObjectKey(std::stoull(arg));
  }
  RETURN_IF_ERROR(ParseWalObjectKey(arg).status());
  return arg;
}

}  // namespace

Result<std::string> InspectWal(std::string_view url_view, std::string_view id_arg, bool values) {
  const std::string url(url_view);
  auto key = WalKey(std::string(id_arg));
  if (!key.ok()) return Fail(key.status(), "bad WAL id");
  auto store = OpenStoreReadOnly(url);
  if (!store.ok()) return Fail(store.status(), "cannot open " + url);
  auto got = (*store)->Get(*key);
  if (!got.ok()) return Fail(got.status(), "cannot read '" + *key + "'");
  auto wal = DecodeWalObject(*key, got->data);
  if (!wal.ok()) return Fail(wal.status(), "cannot decode '" + *key + "'");
  JsonWriter json;
  json.BeginObject();
  json.Member("object_key", *key);
  json.Member("size_bytes", uint64_t{got->data.size()});
  json.Member("id", wal->id);
  json.Member("epoch", wal->epoch);
  json.Key("nonce").Hex64(wal->nonce);
  json.Member("kind", wal->fence ? "fence" : "segment");
  json.Member("fence", wal->fence);
  json.Key("batches").BeginArray();
  for (const WalBatch& b : wal->batches) {
    json.BeginObject();
    json.Member("first_sequence", b.first_sequence);
    json.Member("last_sequence", b.first_sequence + b.count - 1);
    WriteTime(&json, "commit_time_micros", b.commit_time_micros);
    json.Member("count", uint64_t{b.count});
    json.Member("bytes", uint64_t{b.data.size()});
    WriteBatch batch;
    Status s = batch.SetData(b.data, b.count);
    json.Key("ops").BeginArray();
    OpWriter ops(&json, values);
    if (s.ok()) s = batch.Iterate(&ops);
    if (!s.ok()) return Fail(s.WithContext(*key), "cannot decode a batch");
    json.EndArray();
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return Print(json);
}

Result<std::shared_ptr<ObjectStore>> OpenStoreReadOnly(const std::string& url) {
  ObjectStoreOptions options;
  options.create_location = false;  // inspecting must leave no trace
  auto store = OpenObjectStore(url, options);
  if (!store.ok() && store.status().IsNotFound()) {
    return Status::NotFound("no database at " + url + " (" + store.status().message() + ")");
  }
  return store;
}

const char* ValueTypeName(uint8_t type) {
  switch (type) {
    case kTypeValue:
      return "value";
    case kTypeDeletion:
      return "deletion";
    case kTypeRangeDeletion:
      return "range_deletion";
    default:
      return "unknown";
  }
}

void WriteInternalKey(JsonWriter* json, std::string_view internal_key) {
  json->BeginObject();
  ParsedInternalKey parsed;
  if (ParseInternalKey(internal_key, &parsed)) {
    json->Member("user_key", parsed.user_key);
    json->Member("sequence", parsed.sequence);
    // Index separators are seek keys: the largest sequence with the seek type.
    const bool separator =
        parsed.sequence == kMaxSequenceNumber && parsed.type == kValueTypeForSeek;
    json->Member("type", separator ? "separator" : ValueTypeName(parsed.type));
  } else {
    json->Member("raw", internal_key);
  }
  json->EndObject();
}

}  // namespace cloudkv::tools
