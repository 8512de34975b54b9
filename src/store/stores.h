// Internal factories of the ObjectStore backends and wrappers, used by OpenObjectStore.
#ifndef CLOUDKV_STORE_STORES_H_
#define CLOUDKV_STORE_STORES_H_

#include <map>
#include <memory>
#include <string>

#include "cloudkv/object_store.h"
#include "store/url.h"

namespace cloudkv {

// memory://name: the same name in one process is the same store, until DropMemoryStore.
std::shared_ptr<ObjectStore> NewMemoryStore(const std::string& name);
// A store not in the registry (for tests that want a private one).
std::shared_ptr<ObjectStore> NewPrivateMemoryStore(const std::string& name);
void DropMemoryStore(const std::string& name);

// file://: a local directory, created if missing. Options are taken from (and erased from)
// `params`; unknown ones are left for the caller to reject.
Result<std::shared_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   std::map<std::string, std::string>* params);

// s3://bucket/prefix. Options are taken from (and erased from) `params`.
Result<std::shared_ptr<ObjectStore>> NewS3Store(const StoreUrl& url,
                                                std::map<std::string, std::string>* params);

// Wraps `base` as the parameters ask (simulate=, faults=, count=...), erasing what it uses.
Result<std::shared_ptr<ObjectStore>> ApplyStoreWrappers(
    std::shared_ptr<ObjectStore> base, std::map<std::string, std::string>* params);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_STORES_H_
