// SPDX-License-Identifier: Apache-2.0
// LevelDB adapter (Debian's libleveldb, a release build). LevelDB 1.23 compresses only with
// snappy, so zstd and lz4 map to snappy; Describe() says so.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <filesystem>

#include "engine.h"

namespace cloudkv::bench {
namespace {

Status FromLevel(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
  return Status::IOError(s.ToString());
}

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

class LevelCursor final : public BenchCursor {
 public:
  explicit LevelCursor(std::unique_ptr<leveldb::Iterator> it) : it_(std::move(it)) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override {
    leveldb::Slice k = it_->key();
    return {k.data(), k.size()};
  }
  std::string_view value() const override {
    leveldb::Slice v = it_->value();
    return {v.data(), v.size()};
  }
  Status status() const override { return FromLevel(it_->status()); }

 private:
  std::unique_ptr<leveldb::Iterator> it_;
};

class LevelEngine final : public BenchEngine {
 public:
  LevelEngine(const EngineConfig& config, std::string compression)
      : config_(config), compression_(std::move(compression)) {
    write_options_.sync = config.durable;
  }
  ~LevelEngine() override { (void)Close(); }

  Status Open() {
    options_.create_if_missing = true;
    options_.write_buffer_size = config_.write_buffer_bytes;
    options_.block_size = config_.block_size;
    options_.compression =
        compression_ == "snappy" ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    if (config_.block_cache_bytes > 0) {
      cache_.reset(leveldb::NewLRUCache(config_.block_cache_bytes));
      options_.block_cache = cache_.get();
    }
    if (config_.bloom_bits_per_key > 0) {
      filter_.reset(leveldb::NewBloomFilterPolicy(config_.bloom_bits_per_key));
      options_.filter_policy = filter_.get();
    }
    return Reopen();
  }

  std::string name() const override { return "leveldb"; }
  std::string label() const override {
    return "LevelDB " + std::to_string(leveldb::kMajorVersion) + "." +
           std::to_string(leveldb::kMinorVersion) + " (Debian)";
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
      return FromLevel(db_->Put(write_options_, ToSlice(puts[0].first), ToSlice(puts[0].second)));
    }
    leveldb::WriteBatch batch;
    for (const auto& [k, v] : puts) batch.Put(ToSlice(k), ToSlice(v));
    return FromLevel(db_->Write(write_options_, &batch));
  }
  Status Delete(std::string_view key) override {
    return FromLevel(db_->Delete(write_options_, ToSlice(key)));
  }
  Status Get(std::string_view key, std::string* value) override {
    return FromLevel(db_->Get(leveldb::ReadOptions(), ToSlice(key), value));
  }
  // LevelDB has no MultiGet; the keys are read one after the other.
  void MultiGet(std::span<const std::string_view> keys, std::vector<std::string>* values,
                std::vector<Status>* statuses) override {
    values->resize(keys.size());
    statuses->clear();
    for (size_t i = 0; i < keys.size(); i++) statuses->push_back(Get(keys[i], &(*values)[i]));
  }
  std::unique_ptr<BenchCursor> NewCursor() override {
    return std::make_unique<LevelCursor>(
        std::unique_ptr<leveldb::Iterator>(db_->NewIterator(leveldb::ReadOptions())));
  }
  // LevelDB has no public flush; reopening writes the recovered log into a level-0 table.
  Status Flush() override {
    db_.reset();
    return Reopen();
  }
  Status CompactAll() override {
    db_->CompactRange(nullptr, nullptr);
    return Status::OK();
  }
  Status Close() override {
    db_.reset();
    return Status::OK();
  }

 private:
  Status Reopen() {
    leveldb::DB* raw = nullptr;
    leveldb::Status s = leveldb::DB::Open(options_, config_.location, &raw);
    if (!s.ok()) return FromLevel(s);
    db_.reset(raw);
    return Status::OK();
  }

  EngineConfig config_;
  std::string compression_;
  leveldb::Options options_;
  leveldb::WriteOptions write_options_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;  // declared last: closed before the cache and filter go
};

}  // namespace

Result<std::unique_ptr<BenchEngine>> OpenLevelDbEngine(const EngineConfig& config, bool fresh) {
  if (fresh) {
    Status s = RemoveLocalDirectory(config.location);
    if (!s.ok()) return s;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.location, ec);
  std::string compression;
  if (config.compression == "none") {
    compression = "none";
  } else if (config.compression == "snappy" || config.compression == "zstd" ||
             config.compression == "lz4") {
    compression = "snappy";  // the only codec LevelDB has
  } else {
    return Status::InvalidArgument("leveldb: unknown compression " + config.compression);
  }
  auto engine = std::make_unique<LevelEngine>(config, compression);
  Status s = engine->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<BenchEngine>(std::move(engine));
}

}  // namespace cloudkv::bench
