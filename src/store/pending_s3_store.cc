// Placeholder until the S3 backend lands (deleted by that change).
#include "store/stores.h"

namespace cloudkv {

Result<std::shared_ptr<ObjectStore>> NewS3Store(const StoreUrl& url,
                                                std::map<std::string, std::string>*) {
  return Status::NotSupported("s3://" + url.bucket +
                              ": the S3 backend is not part of this build yet");
}

}  // namespace cloudkv
