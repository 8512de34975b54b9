// SPDX-License-Identifier: Apache-2.0
// BenchEngine: the one small interface cloudkv-bench drives every storage engine through.
//
// Each engine (cloudkv, RocksDB, LevelDB) has an adapter in its own .cc file that maps the
// common EngineConfig onto the engine's own options as closely as the engine allows and says
// in Describe() what it actually uses (e.g. LevelDB has no zstd and compresses with snappy).
// The adapters are compiled only when the engine's library is available; OpenEngine returns
// NotSupported for an engine this build lacks.
//
// Thread-safety: an open BenchEngine may be called from any number of threads at once, except
// Close. A BenchCursor belongs to one thread.
#ifndef CLOUDKV_BENCH_ENGINE_H_
#define CLOUDKV_BENCH_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv::bench {

// Settings every engine is asked to honour; see docs/benchmarks.md "How we compare".
struct EngineConfig {
  // Where the database lives: a URL for cloudkv (file://, memory://, s3://, with query
  // options passed through to DB::Open), a local directory for RocksDB and LevelDB.
  std::string location;
  size_t block_cache_bytes = 64ull << 20;
  int bloom_bits_per_key = 10;
  // "none", "lz4", "zstd" or "snappy"; an engine without the codec picks its closest one.
  std::string compression = "zstd";
  // true: a write returns once durable (cloudkv durable=true, RocksDB/LevelDB sync=true).
  bool durable = false;
  size_t block_size = 4096;
  // Memtable / write buffer size, the same for all engines.
  size_t write_buffer_bytes = 64ull << 20;
  // cloudkv's local disk cache of SST parts (empty = none); other engines ignore it.
  std::string disk_cache_dir;
  size_t disk_cache_bytes = 1ull << 30;
};

// Object-store requests by kind (cloudkv only; other engines report none).
struct RequestCounts {
  uint64_t get = 0;
  uint64_t put = 0;
  uint64_t list = 0;
  uint64_t head = 0;
  uint64_t del = 0;
  uint64_t bytes_in = 0;   // bytes returned by GETs
  uint64_t bytes_out = 0;  // bytes sent by PUTs

  uint64_t total() const { return get + put + list + head + del; }
  RequestCounts operator-(const RequestCounts& o) const {
    return {get - o.get, put - o.put,           list - o.list,          head - o.head,
            del - o.del, bytes_in - o.bytes_in, bytes_out - o.bytes_out};
  }
};

// Cache activity (cloudkv only; other engines report none). Counters, except *_bytes_held.
struct CacheCounts {
  uint64_t block_hits = 0;
  uint64_t block_misses = 0;
  uint64_t block_evictions = 0;
  uint64_t disk_hits = 0;
  uint64_t disk_misses = 0;
  uint64_t disk_bytes_read = 0;
  uint64_t disk_evictions = 0;
  CacheCounts operator-(const CacheCounts& o) const {
    return {block_hits - o.block_hits,           block_misses - o.block_misses,
            block_evictions - o.block_evictions, disk_hits - o.disk_hits,
            disk_misses - o.disk_misses,         disk_bytes_read - o.disk_bytes_read,
            disk_evictions - o.disk_evictions};
  }
};

// Dollars for the requests at S3 Standard list prices (docs/design.md §13): PUT/LIST $0.005 per
// 1,000; GET/HEAD $0.0004 per 1,000; DELETE free.
inline double RequestDollars(const RequestCounts& c) {
  return (c.put + c.list) * 0.005 / 1000.0 + (c.get + c.head) * 0.0004 / 1000.0;
}

// An ordered cursor; the subset of the iterator API the workloads use.
class BenchCursor {
 public:
  virtual ~BenchCursor() = default;
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  virtual void Seek(std::string_view target) = 0;
  virtual void Next() = 0;  // REQUIRES: Valid()
  virtual void Prev() = 0;  // REQUIRES: Valid()
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

class BenchEngine {
 public:
  virtual ~BenchEngine() = default;

  // "cloudkv", "rocksdb" or "leveldb".
  virtual std::string name() const = 0;
  // Human label for reports, e.g. "RocksDB 7.8.3 (release build)".
  virtual std::string label() const = 0;
  // What the engine actually uses for each setting, as key -> value (compression, cache, ...).
  virtual std::map<std::string, std::string> Describe() const = 0;

  // Writes the pairs as one atomic batch (one pair: a plain put).
  virtual Status Write(std::span<const std::pair<std::string_view, std::string_view>> puts) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // NotFound when absent.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // One status per key; values[i] is set where statuses[i] is OK.
  virtual void MultiGet(std::span<const std::string_view> keys, std::vector<std::string>* values,
                        std::vector<Status>* statuses) = 0;
  virtual std::unique_ptr<BenchCursor> NewCursor() = 0;

  // Moves the memtable into a table file (the "flush" workload).
  virtual Status Flush() = 0;
  // Compacts everything (the "compact" workload).
  virtual Status CompactAll() = 0;
  // Object-store requests so far; all zero for engines without an object store.
  virtual RequestCounts Requests() const { return {}; }
  // Cache counters so far (cloudkv).
  virtual CacheCounts Caches() const { return {}; }
  virtual bool has_object_store() const { return false; }

  virtual Status Close() = 0;
};

// Opens `engine` ("cloudkv", "rocksdb", "leveldb") with `config`. With `fresh`, whatever
// lives at config.location is removed first. NotSupported if this build lacks the engine.
Result<std::unique_ptr<BenchEngine>> OpenEngine(std::string_view engine, const EngineConfig& config,
                                                bool fresh);

// Engines compiled into this binary.
std::vector<std::string> AvailableEngines();

// Adapter factories, each defined in its engine_*.cc (only those compiled in are called).
Result<std::unique_ptr<BenchEngine>> OpenCloudkvEngine(const EngineConfig& config, bool fresh);
Result<std::unique_ptr<BenchEngine>> OpenRocksDbEngine(const EngineConfig& config, bool fresh);
Result<std::unique_ptr<BenchEngine>> OpenLevelDbEngine(const EngineConfig& config, bool fresh);

// Removes a local directory tree (RocksDB/LevelDB locations). Missing is OK.
Status RemoveLocalDirectory(const std::string& path);

}  // namespace cloudkv::bench

#endif  // CLOUDKV_BENCH_ENGINE_H_
