// SPDX-License-Identifier: Apache-2.0
// Internal factories of the ObjectStore backends and wrappers, used by OpenObjectStore.
#ifndef CLOUDKV_STORE_STORES_H_
#define CLOUDKV_STORE_STORES_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cloudkv/object_store.h"
#include "store/url.h"

namespace cloudkv {

// memory://name: the same name in one process is the same store, until DropMemoryStore.
std::shared_ptr<ObjectStore> NewMemoryStore(const std::string& name);
// A store not in the registry (for tests that want a private one).
std::shared_ptr<ObjectStore> NewPrivateMemoryStore(const std::string& name);
void DropMemoryStore(const std::string& name);

// The test seam of the file:// store: Before() runs ahead of each system call that decides
// what is written or durable, and a non-zero return fails that call with that errno without
// making it. It may also block, to hold a put between two steps. Called from any thread.
class LocalStoreHooks {
 public:
  enum class Op {
    kWriteFile,  // write(2) of a put's temp file; path: its name in .cloudkv/tmp
    kFsyncFile,  // fsync(2) of a put's temp file; path: its name in .cloudkv/tmp
    kFsyncDir,   // fsync(2) of a directory; path: relative to the root ("" is the root)
    kLink,       // link(2) giving a temp file a name; path: the new name (a key's path, or a
                 // marker's name in .cloudkv/tmp)
    kRename,     // rename(2) of a temp file over a key; path: the key's path
  };
  virtual ~LocalStoreHooks() = default;
  virtual int Before(Op op, std::string_view path) = 0;
};

// file://: a local directory, created if missing (with `create`; without, a missing directory
// or one without .cloudkv/ is NotFound and nothing is created). Options are taken from (and
// erased from) `params`; unknown ones are left for the caller to reject. `hooks` is for tests.
Result<std::shared_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   std::map<std::string, std::string>* params,
                                                   std::shared_ptr<LocalStoreHooks> hooks = nullptr,
                                                   bool create = true);

// s3://bucket/prefix. Options are taken from (and erased from) `params`.
Result<std::shared_ptr<ObjectStore>> NewS3Store(const StoreUrl& url,
                                                std::map<std::string, std::string>* params);

// Wraps `base` as the parameters ask (simulate=, faults=, count=...), erasing what it uses.
Result<std::shared_ptr<ObjectStore>> ApplyStoreWrappers(std::shared_ptr<ObjectStore> base,
                                                        std::map<std::string, std::string>* params);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_STORES_H_
