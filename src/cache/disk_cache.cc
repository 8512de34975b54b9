// SPDX-License-Identifier: Apache-2.0
// The disk cache's part files and index. A part file (docs/format-disk-cache.md):
//
//   part_file   := header data
//   header      := magic[8] part_bytes:u64 object_size:u64 part:u64 data_length:u32
//                  store_id_length:u32 key_length:u32 store_id key
//                  chunk_checksum:u32 * ceil(data_length / kChunkBytes)
//                  header_checksum:u64          (XXH3-64 of every header byte before it)
//   data        := the part's data_length bytes of the object
//
// Integers are little-endian; chunk_checksum is Checksum32 of one kChunkBytes chunk of data
// (the last one short). Everything a lookup needs to trust is covered: the header checksum
// covers the identity and the chunk checksums, each chunk's checksum its bytes, and the file's
// size must be exactly header plus data_length (a truncated or extended file is dropped).
#include "cache/disk_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>
#include <vector>

#include "cloudkv/options.h"
#include "store/posix_file.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/logging.h"

namespace cloudkv {
namespace {

constexpr char kMagic[8] = {'c', 'k', 'v', 'd', 'c', 'p', '0', '1'};
constexpr size_t kFixedHeaderBytes = 8 + 8 + 8 + 8 + 4 + 4 + 4;
constexpr uint64_t kChunkBytes = 64 * 1024;
constexpr std::string_view kPartSuffix = ".part";
constexpr std::string_view kTempPrefix = "tmp-";
// A hit refreshes the file's mtime (the recency a restart sees) when it is older than this.
constexpr int64_t kTouchAfterSeconds = 60;

uint64_t NumChunks(uint64_t data_length) { return (data_length + kChunkBytes - 1) / kChunkBytes; }

uint64_t HeaderBytes(size_t store_id_length, size_t key_length, uint64_t data_length) {
  return kFixedHeaderBytes + store_id_length + key_length + 4 * NumChunks(data_length) + 8;
}

std::string EncodePartFile(uint64_t part_bytes, uint64_t object_size, uint64_t part,
                           std::string_view store_id, std::string_view key, std::string_view data) {
  std::string file;
  file.reserve(HeaderBytes(store_id.size(), key.size(), data.size()) + data.size());
  file.append(kMagic, sizeof(kMagic));
  PutFixed64(&file, part_bytes);
  PutFixed64(&file, object_size);
  PutFixed64(&file, part);
  PutFixed32(&file, static_cast<uint32_t>(data.size()));
  PutFixed32(&file, static_cast<uint32_t>(store_id.size()));
  PutFixed32(&file, static_cast<uint32_t>(key.size()));
  file.append(store_id);
  file.append(key);
  for (uint64_t c = 0; c < NumChunks(data.size()); c++) {
    PutFixed32(&file, Checksum32(data.substr(c * kChunkBytes, kChunkBytes)));
  }
  PutFixed64(&file, Checksum64(file));
  assert(file.size() == HeaderBytes(store_id.size(), key.size(), data.size()));
  file.append(data);
  return file;
}

bool IsPartFileName(std::string_view name) {
  // "<16 hex digits>-<decimal part>.part"
  if (name.size() < 16 + 1 + 1 + kPartSuffix.size() || name[16] != '-' ||
      !name.ends_with(kPartSuffix)) {
    return false;
  }
  for (size_t i = 0; i < name.size() - kPartSuffix.size(); i++) {
    const char c = name[i];
    if (i == 16) continue;
    const bool ok =
        i < 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<DiskCache>> DiskCache::Open(const DiskCacheOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("DiskCacheOptions::dir is empty");
  if (options.part_bytes < kMinPartBytes || options.part_bytes > kMaxPartBytes) {
    return Status::InvalidArgument(
        "DiskCacheOptions::part_bytes = " + std::to_string(options.part_bytes) + ": must be in " +
        std::to_string(kMinPartBytes) + ".." + std::to_string(kMaxPartBytes));
  }
  std::shared_ptr<DiskCache> cache(new DiskCache(options));
  std::error_code ec;
  std::filesystem::create_directories(cache->dir_, ec);
  if (ec) {
    cache->Disable("creating the directory", ec.value());
    return cache;
  }
  cache->Scan();
  return cache;
}

DiskCache::DiskCache(const DiskCacheOptions& options)
    : dir_(options.dir), capacity_bytes_(options.capacity_bytes), part_bytes_(options.part_bytes) {}

DiskCache::~DiskCache() = default;

Result<std::shared_ptr<DiskCache>> NewDiskCache(const std::string& dir, uint64_t capacity_bytes) {
  DiskCacheOptions options;
  options.dir = dir;
  options.capacity_bytes = capacity_bytes;
  return DiskCache::Open(options);
}

void DiskCache::Scan() {
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    Disable("reading the directory", errno);
    return;
  }
  struct Found {
    std::string name;
    uint64_t bytes;
    struct timespec mtime;
  };
  std::vector<Found> found;
  while (struct dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name.starts_with(kTempPrefix)) {
      unlink(PathOf(name).c_str());  // a write cut short by a crash
      continue;
    }
    if (!IsPartFileName(name)) continue;  // not ours: left alone
    struct stat st;
    if (stat(PathOf(name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    found.push_back(Found{std::string(name), static_cast<uint64_t>(st.st_size), st.st_mtim});
  }
  closedir(d);
  // Oldest first, so that pushing each to the front leaves the newest there.
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec < b.mtime.tv_sec;
    if (a.mtime.tv_nsec != b.mtime.tv_nsec) return a.mtime.tv_nsec < b.mtime.tv_nsec;
    return a.name < b.name;
  });
  MutexLock lock(&mu_);
  for (Found& f : found) {
    lru_.push_front(f.name);
    Entry entry;
    entry.file_bytes = f.bytes;
    entry.generation = next_generation_++;
    entry.ready = true;
    entry.lru = lru_.begin();
    used_bytes_ += f.bytes;
    index_.emplace(std::move(f.name), entry);
  }
  // The bound may have shrunk since the files were written.
  EvictLocked(0);
}

std::string DiskCache::FileName(std::string_view store_id, std::string_view key,
                                uint64_t part) const {
  std::string id(store_id);
  id.push_back('\0');
  id.append(key);
  return fmt::format("{:016x}-{}{}", Hash64(id), part, kPartSuffix);
}

uint64_t DiskCache::PartLength(uint64_t object_size, uint64_t part) const {
  const uint64_t begin = part * part_bytes_;
  if (part >= (object_size + part_bytes_ - 1) / part_bytes_) return 0;
  return std::min(part_bytes_, object_size - begin);
}

void DiskCache::RemoveLocked(std::map<std::string, Entry, std::less<>>::iterator it) {
  // A pending entry has no file yet; its writer finds the entry gone and deletes its temp file.
  if (it->second.ready) unlink(PathOf(it->first).c_str());
  assert(used_bytes_ >= it->second.file_bytes);
  used_bytes_ -= it->second.file_bytes;
  lru_.erase(it->second.lru);
  index_.erase(it);
}

void DiskCache::EvictLocked(uint64_t incoming_bytes) {
  while (!lru_.empty() && used_bytes_ + incoming_bytes > capacity_bytes_) {
    auto it = index_.find(lru_.back());
    assert(it != index_.end());
    RemoveLocked(it);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  assert(lru_.size() == index_.size());
}

std::optional<std::string> DiskCache::Lookup(std::string_view store_id, std::string_view key,
                                             uint64_t object_size, uint64_t part, uint64_t offset,
                                             uint64_t length) {
  assert(length > 0 && offset + length <= PartLength(object_size, part));
  auto miss = [this]() -> std::optional<std::string> {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  };
  if (disabled_.load(std::memory_order_relaxed) || store_id.size() > kMaxIdBytes ||
      key.size() > kMaxIdBytes || length == 0 || offset + length > PartLength(object_size, part)) {
    return miss();
  }
  const std::string name = FileName(store_id, key, part);
  uint64_t generation;
  {
    MutexLock lock(&mu_);
    auto it = index_.find(name);
    if (it == index_.end() || !it->second.ready) return miss();
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    generation = it->second.generation;
  }
  std::string out;
  const ReadOutcome outcome =
      ReadPart(PathOf(name), store_id, key, object_size, part, offset, length, &out);
  if (outcome == ReadOutcome::kOk) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    bytes_read_.fetch_add(length, std::memory_order_relaxed);
    return out;
  }
  // Drop the entry, unless a newer file of that name replaced it meanwhile.
  MutexLock lock(&mu_);
  auto it = index_.find(name);
  if (it != index_.end() && it->second.generation == generation) {
    if (outcome == ReadOutcome::kCorrupt) {
      corrupt_parts_dropped_.fetch_add(1, std::memory_order_relaxed);
      LOG_WARN("disk cache {}: dropped part {} of '{}' (does not verify)", dir_, part, key);
    }
    RemoveLocked(it);  // deletes the file: a corrupt part is refetched, never served
  }
  return miss();
}

DiskCache::ReadOutcome DiskCache::ReadPart(const std::string& path, std::string_view store_id,
                                           std::string_view key, uint64_t object_size,
                                           uint64_t part, uint64_t offset, uint64_t length,
                                           std::string* out) const {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno == ENOENT ? ReadOutcome::kMissing : ReadOutcome::kCorrupt;
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ReadOutcome::kCorrupt;
  const uint64_t data_length = PartLength(object_size, part);
  const uint64_t header_bytes = HeaderBytes(store_id.size(), key.size(), data_length);
  if (static_cast<uint64_t>(st.st_size) != header_bytes + data_length) {
    return ReadOutcome::kCorrupt;  // truncated, extended, or another object's part
  }
  std::string header(header_bytes, '\0');
  if (PreadFully(fd.get(), header.data(), header_bytes, 0) != 0) return ReadOutcome::kCorrupt;
  const char* p = header.data();
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0 || DecodeFixed64(p + 8) != part_bytes_ ||
      DecodeFixed64(p + 16) != object_size || DecodeFixed64(p + 24) != part ||
      DecodeFixed32(p + 32) != data_length || DecodeFixed32(p + 36) != store_id.size() ||
      DecodeFixed32(p + 40) != key.size() ||
      std::string_view(p + kFixedHeaderBytes, store_id.size()) != store_id ||
      std::string_view(p + kFixedHeaderBytes + store_id.size(), key.size()) != key ||
      DecodeFixed64(p + header_bytes - 8) != Checksum64(std::string_view(p, header_bytes - 8))) {
    return ReadOutcome::kCorrupt;
  }
  const char* checksums = p + kFixedHeaderBytes + store_id.size() + key.size();
  // Read and verify the chunks that hold [offset, offset + length).
  const uint64_t first = offset / kChunkBytes;
  const uint64_t last = (offset + length - 1) / kChunkBytes;
  const uint64_t begin = first * kChunkBytes;
  const uint64_t end = std::min(data_length, (last + 1) * kChunkBytes);
  std::string chunks(end - begin, '\0');
  if (PreadFully(fd.get(), chunks.data(), chunks.size(), header_bytes + begin) != 0) {
    return ReadOutcome::kCorrupt;
  }
  for (uint64_t c = first; c <= last; c++) {
    std::string_view chunk =
        std::string_view(chunks).substr((c - first) * kChunkBytes, kChunkBytes);
    if (Checksum32(chunk) != DecodeFixed32(checksums + 4 * c)) return ReadOutcome::kCorrupt;
  }
  out->assign(chunks, offset - begin, length);
  // Keep the recency a restart sees roughly right, at most one metadata write a minute per part.
  if (static_cast<int64_t>(std::time(nullptr)) - st.st_mtim.tv_sec > kTouchAfterSeconds) {
    futimens(fd.get(), nullptr);
  }
  return ReadOutcome::kOk;
}

int DiskCache::WriteTemp(std::string_view contents, std::string* temp_path) {
  *temp_path = PathOf(fmt::format("{}{}-{}.tmp", kTempPrefix, getpid(),
                                  temp_counter_.fetch_add(1, std::memory_order_relaxed)));
  UniqueFd fd(open(temp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid() && errno == ENOENT) {
    // The directory was deleted under us: make it again (its parts are gone; lookups drop
    // their entries as they miss).
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    fd = UniqueFd(open(temp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  }
  if (!fd.valid()) return errno;
  int err = WriteFully(fd.get(), contents);
  if (err == 0) err = fd.Close();
  if (err != 0) unlink(temp_path->c_str());
  return err;
}

void DiskCache::InsertPart(std::string_view store_id, std::string_view key, uint64_t object_size,
                           uint64_t part, std::string_view data) {
  assert(!data.empty() && data.size() == PartLength(object_size, part));
  if (disabled_.load(std::memory_order_relaxed) || store_id.size() > kMaxIdBytes ||
      key.size() > kMaxIdBytes || data.empty() || data.size() != PartLength(object_size, part)) {
    return;
  }
  const uint64_t file_bytes = HeaderBytes(store_id.size(), key.size(), data.size()) + data.size();
  if (file_bytes > capacity_bytes_) return;
  std::string name = FileName(store_id, key, part);
  uint64_t generation;
  {
    // Reserve the space first, so that the files on disk stay within the bound.
    MutexLock lock(&mu_);
    if (index_.find(name) != index_.end()) return;  // cached, or being written by another
    EvictLocked(file_bytes);
    lru_.push_front(name);
    Entry entry;
    entry.file_bytes = file_bytes;
    entry.generation = generation = next_generation_++;
    entry.lru = lru_.begin();
    used_bytes_ += file_bytes;
    index_.emplace(name, entry);
  }
  std::string temp_path;
  const int err =
      WriteTemp(EncodePartFile(part_bytes_, object_size, part, store_id, key, data), &temp_path);
  MutexLock lock(&mu_);
  auto it = index_.find(name);
  const bool still_wanted = it != index_.end() && it->second.generation == generation;
  if (err != 0 || !still_wanted) {
    if (still_wanted) RemoveLocked(it);
    if (err == 0) unlink(temp_path.c_str());  // evicted or erased while written
    if (err != 0) Disable("writing a part file", err);
    return;
  }
  if (rename(temp_path.c_str(), PathOf(name).c_str()) != 0) {
    const int rename_err = errno;
    unlink(temp_path.c_str());
    RemoveLocked(it);
    Disable("renaming a part file", rename_err);
    return;
  }
  it->second.ready = true;
  inserts_.fetch_add(1, std::memory_order_relaxed);
  bytes_inserted_.fetch_add(data.size(), std::memory_order_relaxed);
}

void DiskCache::InsertObject(std::string_view store_id, std::string_view key,
                             std::string_view object) {
  for (uint64_t part = 0; part * part_bytes_ < object.size(); part++) {
    InsertPart(store_id, key, object.size(), part,
               object.substr(part * part_bytes_, PartLength(object.size(), part)));
  }
}

void DiskCache::EraseObject(std::string_view store_id, std::string_view key) {
  // Every part's name starts with the object's hash (another object of the same hash loses
  // its parts too, which only costs misses).
  const std::string name = FileName(store_id, key, 0);
  const std::string prefix = name.substr(0, 17);
  MutexLock lock(&mu_);
  auto it = index_.lower_bound(prefix);
  while (it != index_.end() && std::string_view(it->first).starts_with(prefix)) {
    RemoveLocked(it++);
  }
}

void DiskCache::Disable(std::string_view what, int err) {
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  if (!disabled_.exchange(true)) {
    LOG_WARN("disk cache {}: {} failed ({}); running without a disk cache", dir_, what,
             std::strerror(err));
  }
}

DiskCache::Stats DiskCache::GetStats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.bytes_read = bytes_read_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.bytes_inserted = bytes_inserted_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.corrupt_parts_dropped = corrupt_parts_dropped_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.capacity_bytes = capacity_bytes_;
  s.disabled = disabled_.load(std::memory_order_relaxed);
  MutexLock lock(&mu_);
  s.entries = index_.size();
  s.bytes = used_bytes_;
  return s;
}

}  // namespace cloudkv
