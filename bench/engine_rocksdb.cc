// SPDX-License-Identifier: Apache-2.0
// RocksDB adapter. Links the release build from scripts/build-peers when bench/CMakeLists.txt
// finds it, else Debian's librocksdb (built with assertions on; every result is labelled so).
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "engine.h"

namespace cloudkv::bench {
namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
  if (s.IsBusy()) return Status::Busy(s.ToString());
  return Status::IOError(s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksCursor final : public BenchCursor {
 public:
  explicit RocksCursor(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override {
    rocksdb::Slice k = it_->key();
    return {k.data(), k.size()};
  }
  std::string_view value() const override {
    rocksdb::Slice v = it_->value();
    return {v.data(), v.size()};
  }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksEngine final : public BenchEngine {
 public:
  RocksEngine(std::unique_ptr<rocksdb::DB> db, const EngineConfig& config, std::string compression)
      : db_(std::move(db)), config_(config), compression_(std::move(compression)) {
    write_options_.sync = config.durable;
  }
  ~RocksEngine() override { (void)Close(); }

  std::string name() const override { return "rocksdb"; }
  std::string label() const override {
    std::string version = std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) +
                          "." + std::to_string(ROCKSDB_PATCH);
#ifdef CLOUDKV_BENCH_ROCKSDB_RELEASE
    return "RocksDB " + version + " (release build)";
#else
    return "RocksDB " + version + " (Debian assert build)";
#endif
  }
  std::map<std::string, std::string> Describe() const override {
    return {{"location", config_.location},
            {"compression", compression_},
            {"block_cache_bytes", std::to_string(config_.block_cache_bytes)},
            {"bloom_bits_per_key", std::to_string(config_.bloom_bits_per_key)},
            {"block_size", std::to_string(config_.block_size)},
            {"write_buffer_bytes", std::to_string(config_.write_buffer_bytes)},
            {"durable", config_.durable ? "sync=true" : "sync=false"}};
  }

  Status Write(std::span<const std::pair<std::string_view, std::string_view>> puts) override {
    if (puts.size() == 1) {
      return FromRocks(db_->Put(write_options_, ToSlice(puts[0].first), ToSlice(puts[0].second)));
    }
    rocksdb::WriteBatch batch;
    for (const auto& [k, v] : puts) {
      rocksdb::Status s = batch.Put(ToSlice(k), ToSlice(v));
      if (!s.ok()) return FromRocks(s);
    }
    return FromRocks(db_->Write(write_options_, &batch));
  }
  Status Delete(std::string_view key) override {
    return FromRocks(db_->Delete(write_options_, ToSlice(key)));
  }
  Status Get(std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), ToSlice(key), value));
  }
  void MultiGet(std::span<const std::string_view> keys, std::vector<std::string>* values,
                std::vector<Status>* statuses) override {
    std::vector<rocksdb::Slice> slices;
    slices.reserve(keys.size());
    for (std::string_view k : keys) slices.push_back(ToSlice(k));
    std::vector<rocksdb::Status> rs = db_->MultiGet(rocksdb::ReadOptions(), slices, values);
    statuses->clear();
    for (const auto& s : rs) statuses->push_back(FromRocks(s));
  }
  std::unique_ptr<BenchCursor> NewCursor() override {
    return std::make_unique<RocksCursor>(
        std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions())));
  }
  Status Flush() override { return FromRocks(db_->Flush(rocksdb::FlushOptions())); }
  Status CompactAll() override {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    return FromRocks(db_->CompactRange(options, nullptr, nullptr));
  }
  Status Close() override {
    if (!db_) return Status::OK();
    rocksdb::Status s = db_->Close();
    db_.reset();
    return FromRocks(s);
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  EngineConfig config_;
  std::string compression_;
  rocksdb::WriteOptions write_options_;
};

}  // namespace

Result<std::unique_ptr<BenchEngine>> OpenRocksDbEngine(const EngineConfig& config, bool fresh) {
  if (fresh) {
    Status s = RemoveLocalDirectory(config.location);
    if (!s.ok()) return s;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.location, ec);

  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = config.write_buffer_bytes;
  std::string compression = config.compression;
  if (compression == "none") {
    options.compression = rocksdb::kNoCompression;
  } else if (compression == "lz4") {
    options.compression = rocksdb::kLZ4Compression;
  } else if (compression == "zstd") {
    options.compression = rocksdb::kZSTD;
  } else if (compression == "snappy") {
    options.compression = rocksdb::kSnappyCompression;
  } else {
    return Status::InvalidArgument("rocksdb: unknown compression " + compression);
  }
  // Every level uses the same codec, as cloudkv does.
  options.bottommost_compression = options.compression;
  options.compression_per_level.clear();

  rocksdb::BlockBasedTableOptions table;
  table.block_size = config.block_size;
  if (config.block_cache_bytes > 0) {
    table.block_cache = rocksdb::NewLRUCache(config.block_cache_bytes);
  } else {
    table.no_block_cache = true;
  }
  if (config.bloom_bits_per_key > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(config.bloom_bits_per_key, false));
  }
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, config.location, &raw);
  if (!s.ok()) return FromRocks(s);
  return std::unique_ptr<BenchEngine>(
      std::make_unique<RocksEngine>(std::unique_ptr<rocksdb::DB>(raw), config, compression));
}

}  // namespace cloudkv::bench
