// Temporary: backends and wrappers not built yet. Each moves to its own file when it lands.
#include "store/stores.h"

namespace cloudkv {

Result<std::shared_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   std::map<std::string, std::string>*) {
  return Status::NotSupported("file:// store not built yet: " + root);
}

Result<std::shared_ptr<ObjectStore>> NewS3Store(const StoreUrl& url,
                                                std::map<std::string, std::string>*) {
  return Status::NotSupported("s3://" + url.bucket + ": the S3 backend is not built yet");
}

Result<std::shared_ptr<ObjectStore>> ApplyStoreWrappers(
    std::shared_ptr<ObjectStore> base, std::map<std::string, std::string>*) {
  return base;
}

}  // namespace cloudkv
