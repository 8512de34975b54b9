// SPDX-License-Identifier: Apache-2.0
// DiskCache: a byte-bounded cache of parts of immutable objects in a local directory, kept
// across restarts (docs/design.md §8, file format in docs/format-disk-cache.md).
//
// An object is cut into aligned parts of part_bytes (the last one short); each cached part is
// one file, named by a hash of (store id, object key) and the part index. The file holds a
// header naming the store, the key, the object size and the part, a checksum per 64 KiB chunk
// of the data, and a checksum of the header itself; a lookup reads only the header and the
// chunks it needs and verifies them. A file that does not verify (torn, corrupt, truncated,
// another key's part) is deleted and the lookup is a miss: wrong bytes are never served.
//
// Objects are immutable and their keys unique (SST names never repeat), so a cached part is
// never stale; the store id (ObjectStore::Describe()) keeps the objects of several stores
// apart, so one cache can serve every DB of a process.
//
// Bound: the sizes of the part files (headers included) never exceed capacity_bytes: space is
// reserved before a file is written, evicting the least recently used parts. Recency is kept
// in memory; at open the index is rebuilt by scanning the directory, ordered by file mtime
// (a hit refreshes the mtime of a part not touched for a minute).
//
// Failure: the cache is an optimization, so no method fails a read. Writes go to a temp file
// renamed into place (no fsync: a crash may lose a part, never leave a wrong one that
// verifies). Files or the whole directory may be deleted at any time (lookups miss; a deleted
// directory is created again). A write that fails otherwise (no space, read-only, not a
// directory) disables the cache for the rest of the process: one warning is logged, write_errors
// and disabled count it, and every lookup misses. One directory belongs to one DiskCache (one
// process) at a time.
//
// Thread-safety: every method is safe for concurrent use. One mutex guards the index; it is held
// for map updates and for the unlink/rename of a file (local metadata calls), never while file
// data is read or written.
#ifndef CLOUDKV_CACHE_DISK_CACHE_H_
#define CLOUDKV_CACHE_DISK_CACHE_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cloudkv/status.h"
#include "util/mutex.h"

namespace cloudkv {

struct DiskCacheOptions {
  // The cache directory, created if missing. REQUIRES: not empty.
  std::string dir;
  // Bound on the bytes of all part files.
  uint64_t capacity_bytes = 1ull << 30;
  // Size of an aligned part. REQUIRES: kMinPartBytes..kMaxPartBytes.
  uint64_t part_bytes = 1ull << 20;
};

class DiskCache {
 public:
  static constexpr uint64_t kMinPartBytes = 4096;
  static constexpr uint64_t kMaxPartBytes = 64ull << 20;
  // Longest store id and object key a part can be filed under (longer ones are not cached).
  static constexpr size_t kMaxIdBytes = 4096;

  struct Stats {
    uint64_t hits = 0;            // lookups served from disk
    uint64_t misses = 0;          // lookups not served (absent, dropped, or disabled)
    uint64_t bytes_read = 0;      // bytes served by hits
    uint64_t inserts = 0;         // parts written
    uint64_t bytes_inserted = 0;  // data bytes of the parts written
    uint64_t evictions = 0;       // parts deleted to stay within the bound
    uint64_t corrupt_parts_dropped = 0;
    uint64_t write_errors = 0;
    uint64_t entries = 0;  // parts held now
    uint64_t bytes = 0;    // file bytes held now (headers included)
    uint64_t capacity_bytes = 0;
    bool disabled = false;  // a write failed; the cache is off for this process
  };

  // Opens (creating the directory if missing) and indexes the parts found in it; leftover temp
  // files are deleted. A directory that cannot be created or read gives a disabled cache (with
  // a warning), not an error. Errors: InvalidArgument naming a bad option.
  static Result<std::shared_ptr<DiskCache>> Open(const DiskCacheOptions& options);

  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;
  ~DiskCache();

  uint64_t part_bytes() const { return part_bytes_; }
  uint64_t capacity_bytes() const { return capacity_bytes_; }
  const std::string& dir() const { return dir_; }
  // False once a failed write disabled the cache (every lookup misses, nothing is written).
  bool enabled() const { return !disabled_.load(std::memory_order_relaxed); }

  // Bytes [offset, offset + length) of part `part` of the object (store_id, key), whose size is
  // object_size; nullopt on a miss. A part file that does not verify is deleted.
  // REQUIRES: length > 0 and the range lies inside the part.
  std::optional<std::string> Lookup(std::string_view store_id, std::string_view key,
                                    uint64_t object_size, uint64_t part, uint64_t offset,
                                    uint64_t length);
  // Caches part `part` of the object, `data` being its bytes. Does nothing if the part is
  // cached (or being written) already, larger than the capacity, or the cache is disabled.
  // REQUIRES: data.size() == PartLength(object_size, part) > 0.
  void InsertPart(std::string_view store_id, std::string_view key, uint64_t object_size,
                  uint64_t part, std::string_view data);
  // Caches every part of a whole object (write-through of an object just written).
  void InsertObject(std::string_view store_id, std::string_view key, std::string_view object);
  // Deletes every cached part of the object (it was retired).
  void EraseObject(std::string_view store_id, std::string_view key);

  // The length of part `part` of an object of object_size bytes (0 past its end).
  uint64_t PartLength(uint64_t object_size, uint64_t part) const;

  Stats GetStats() const;

 private:
  struct Entry {
    uint64_t file_bytes = 0;
    uint64_t generation = 0;  // tells an entry from a newer one of the same name
    bool ready = false;       // false while its file is being written
    std::list<std::string>::iterator lru;
  };
  enum class ReadOutcome { kOk, kMissing, kCorrupt };

  explicit DiskCache(const DiskCacheOptions& options);
  void Scan();
  std::string FileName(std::string_view store_id, std::string_view key, uint64_t part) const;
  std::string PathOf(std::string_view name) const { return dir_ + "/" + std::string(name); }
  ReadOutcome ReadPart(const std::string& path, std::string_view store_id, std::string_view key,
                       uint64_t object_size, uint64_t part, uint64_t offset, uint64_t length,
                       std::string* out) const;
  // Writes `contents` to a new temp file; returns its path, or the errno of the failure.
  int WriteTemp(std::string_view contents, std::string* temp_path);
  // Removes the entry of that name and its file. REQUIRES: the entry exists.
  void RemoveLocked(std::map<std::string, Entry, std::less<>>::iterator it) REQUIRES(mu_);
  void EvictLocked(uint64_t incoming_bytes) REQUIRES(mu_);
  // Counts a failed write and disables the cache (logging once).
  void Disable(std::string_view what, int err);

  // Constant after construction.
  const std::string dir_;
  const uint64_t capacity_bytes_;
  const uint64_t part_bytes_;

  std::atomic<bool> disabled_{false};
  std::atomic<uint64_t> temp_counter_{0};
  std::atomic<uint64_t> hits_{0}, misses_{0}, bytes_read_{0}, inserts_{0}, bytes_inserted_{0},
      evictions_{0}, corrupt_parts_dropped_{0}, write_errors_{0};

  mutable Mutex mu_;
  // Part files by name; lru_ holds the names, most recently used first.
  std::map<std::string, Entry, std::less<>> index_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);
  uint64_t used_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t next_generation_ GUARDED_BY(mu_) = 1;
};

}  // namespace cloudkv

#endif  // CLOUDKV_CACHE_DISK_CACHE_H_
