// Placeholder until the file:// backend lands (deleted by that change).
#include "store/stores.h"

namespace cloudkv {

Result<std::shared_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   std::map<std::string, std::string>*) {
  return Status::NotSupported("file:// store not built yet: " + root);
}

}  // namespace cloudkv
