// SPDX-License-Identifier: Apache-2.0
// SstCache: the open SST readers of one DB, by object key, so that consecutive Versions share
// them (LevelDB's table_cache). It builds the Version of each manifest and keeps, beside each
// reader, its range tombstones fragmented for reads.
//
// Thread-safety: safe for concurrent use; no lock is held while a reader opens.
#ifndef CLOUDKV_DB_SST_CACHE_H_
#define CLOUDKV_DB_SST_CACHE_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cloudkv/object_store.h"
#include "db/version.h"
#include "format/manifest_format.h"
#include "format/sst_reader.h"
#include "util/thread_pool.h"

namespace cloudkv {

// Opens SST readers and keeps them by object key so consecutive Versions share them.
class SstCache {
 public:
  // `pool` (may be null) opens the readers that BuildVersion needs in parallel.
  SstCache(std::shared_ptr<ObjectStore> store, SstReadOptions read_options, ThreadPool* pool);
  // The Version for `manifest`, reusing readers of SSTs already open. Opens missing readers,
  // in parallel on the pool (each open is one or two GETs of the SST's tail).
  Result<std::shared_ptr<Version>> BuildVersion(const Manifest& manifest);
  // The reader of one SST, opened (and kept) if it is not open yet.
  Result<std::shared_ptr<SstReader>> GetReader(const proto::SstMeta& meta);
  // Registers a reader the caller opened (e.g. right after writing the SST).
  void Add(const std::string& object_key, std::shared_ptr<SstReader> reader);
  // Drops readers of SSTs not in `manifest` (after compaction).
  void Retain(const Manifest& manifest);
  // Object keys of the SSTs of every Version built here that is still alive (held by the DB,
  // an iterator or a read in progress): GC's in-use set, so a reader keeps working after a
  // compaction retired its SSTs, whatever the history window.
  std::set<std::string> LiveSstKeys();

 private:
  struct OpenSst {
    std::shared_ptr<SstReader> reader;
    RangeTombstoneListPtr range_tombstones;
  };
  Result<OpenSst> Open(const proto::SstMeta& meta);
  // Opens the readers of `manifest`'s SSTs that are not open yet, in parallel on the pool.
  Status OpenMissing(const Manifest& manifest);

  const std::shared_ptr<ObjectStore> store_;
  const SstReadOptions read_options_;
  ThreadPool* const pool_;
  std::mutex mu_;
  std::map<std::string, OpenSst> readers_;
  std::vector<std::weak_ptr<const Version>> built_;  // pruned of expired entries as it grows
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_SST_CACHE_H_
