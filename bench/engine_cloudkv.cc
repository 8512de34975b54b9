// SPDX-License-Identifier: Apache-2.0
// cloudkv adapter: the public API only (DB::Open, WriteOptions{durable}, ReadOptions).
//
// Object-store requests come from the engine's own counts (DBStats::store): every request it
// makes, by kind, by the same rules INFO and `cloudkv stats` use.
#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "cloudkv/options.h"
#include "engine.h"

namespace cloudkv::bench {
namespace {

RequestCounts FromStats(const DBStats::StoreRequests& c) {
  RequestCounts r;
  r.get = c.get;
  r.put = c.put;
  r.list = c.list;
  r.head = c.head;
  r.del = c.del;
  r.bytes_in = c.bytes_read;
  r.bytes_out = c.bytes_written;
  return r;
}

class CloudkvCursor final : public BenchCursor {
 public:
  explicit CloudkvCursor(std::unique_ptr<Iterator> it) : it_(std::move(it)) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(target); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  Status status() const override { return it_->status(); }

 private:
  std::unique_ptr<Iterator> it_;
};

class CloudkvEngine final : public BenchEngine {
 public:
  CloudkvEngine(std::unique_ptr<DB> db, const EngineConfig& config, std::string compression)
      : db_(std::move(db)), config_(config), compression_(std::move(compression)) {
    write_options_.durable = config.durable;
    // Reads see the process's own acknowledged writes, as RocksDB and LevelDB reads do.
    read_options_.read_unflushed = true;
  }
  ~CloudkvEngine() override { (void)Close(); }

  std::string name() const override { return "cloudkv"; }
  std::string label() const override { return "cloudkv"; }
  std::map<std::string, std::string> Describe() const override {
    return {{"location", config_.location},
            {"compression", compression_},
            {"block_cache_bytes", std::to_string(config_.block_cache_bytes)},
            {"bloom_bits_per_key", std::to_string(config_.bloom_bits_per_key)},
            {"block_size", std::to_string(config_.block_size)},
            {"write_buffer_bytes", std::to_string(config_.write_buffer_bytes)},
            {"disk_cache", config_.disk_cache_dir.empty()
                               ? "none"
                               : config_.disk_cache_dir + " (" +
                                     std::to_string(config_.disk_cache_bytes) + " bytes)"},
            {"durable", config_.durable ? "true" : "false"}};
  }

  Status Write(std::span<const std::pair<std::string_view, std::string_view>> puts) override {
    if (puts.size() == 1) return db_->Put(write_options_, puts[0].first, puts[0].second);
    WriteBatch batch;
    for (const auto& [k, v] : puts) batch.Put(k, v);
    return db_->Write(write_options_, batch);
  }
  Status Delete(std::string_view key) override { return db_->Delete(write_options_, key); }
  Status Get(std::string_view key, std::string* value) override {
    Result<std::string> r = db_->Get(read_options_, key);
    if (!r.ok()) return r.status();
    *value = std::move(r).value();
    return Status::OK();
  }
  void MultiGet(std::span<const std::string_view> keys, std::vector<std::string>* values,
                std::vector<Status>* statuses) override {
    std::vector<Result<std::string>> results = db_->MultiGet(read_options_, keys);
    values->resize(keys.size());
    statuses->clear();
    for (size_t i = 0; i < results.size(); i++) {
      if (results[i].ok()) {
        (*values)[i] = std::move(results[i]).value();
        statuses->push_back(Status::OK());
      } else {
        statuses->push_back(results[i].status());
      }
    }
  }
  std::unique_ptr<BenchCursor> NewCursor() override {
    return std::make_unique<CloudkvCursor>(db_->NewIterator(read_options_));
  }
  Status Flush() override { return db_->Flush(); }
  Status CompactAll() override { return db_->CompactAll(); }
  RequestCounts Requests() const override {
    return db_ ? FromStats(db_->GetStats().store) : closed_requests_;
  }
  CacheCounts Caches() const override {
    if (!db_) return closed_caches_;
    const DBStats s = db_->GetStats();
    CacheCounts c;
    c.block_hits = s.block_cache_hits;
    c.block_misses = s.block_cache_misses;
    c.block_evictions = s.block_cache_evictions;
    c.disk_hits = s.disk_cache_hits;
    c.disk_misses = s.disk_cache_misses;
    c.disk_bytes_read = s.disk_cache_bytes_read;
    c.disk_evictions = s.disk_cache_evictions;
    return c;
  }
  bool has_object_store() const override { return true; }
  Status Close() override {
    if (!db_) return Status::OK();
    Status s = db_->Close();
    closed_requests_ = FromStats(db_->GetStats().store);  // the close's own requests too
    closed_caches_ = Caches();
    db_.reset();
    return s;
  }

 private:
  std::unique_ptr<DB> db_;
  RequestCounts closed_requests_;
  CacheCounts closed_caches_;
  EngineConfig config_;
  std::string compression_;
  WriteOptions write_options_;
  ReadOptions read_options_;
};

// Deletes every object in the store (a fresh start for file://, memory:// and s3:// alike).
Status WipeStore(ObjectStore& store) {
  constexpr int kMaxRounds = 1'000'000;  // 1e9 objects: far beyond any benchmark
  for (int round = 0; round < kMaxRounds; round++) {
    Result<ListResult> list = store.List("", "", 1000);
    if (!list.ok()) return list.status();
    if (list->objects.empty()) return Status::OK();
    std::vector<std::string> keys;
    for (const ObjectInfo& o : list->objects) keys.push_back(o.key);
    Status s = store.DeleteMany(keys);
    if (!s.ok()) return s;
  }
  return Status::Busy("wipe: too many objects");
}

}  // namespace

Result<std::unique_ptr<BenchEngine>> OpenCloudkvEngine(const EngineConfig& config, bool fresh) {
  Result<std::shared_ptr<ObjectStore>> base = OpenObjectStore(config.location);
  if (!base.ok()) return base.status();
  if (fresh) {
    Status s = WipeStore(**base);
    if (!s.ok()) return s.WithContext("wiping " + config.location);
  }
  Options options;
  options.store = *base;
  options.create_if_missing = true;
  options.memtable_bytes = config.write_buffer_bytes;
  options.block_size = config.block_size;
  options.block_cache_bytes = config.block_cache_bytes;
  options.bloom_bits_per_key = config.bloom_bits_per_key;
  options.disk_cache_dir = config.disk_cache_dir;
  options.disk_cache_bytes = config.disk_cache_bytes;
  std::string compression = config.compression;
  if (compression == "none") {
    options.compression = Compression::kNone;
  } else if (compression == "lz4" || compression == "snappy") {
    options.compression = Compression::kLz4;  // cloudkv has no snappy; lz4 is its fast codec
    compression = "lz4";
  } else if (compression == "zstd") {
    options.compression = Compression::kZstd;
  } else {
    return Status::InvalidArgument("cloudkv: unknown compression " + compression);
  }
  Result<std::unique_ptr<DB>> db = DB::Open(config.location, options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<BenchEngine>(
      std::make_unique<CloudkvEngine>(std::move(db).value(), config, compression));
}

}  // namespace cloudkv::bench
