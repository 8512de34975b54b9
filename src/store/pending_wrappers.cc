// Placeholder until the store wrappers land (deleted by that change).
#include "store/stores.h"

namespace cloudkv {

Result<std::shared_ptr<ObjectStore>> ApplyStoreWrappers(std::shared_ptr<ObjectStore> base,
                                                        std::map<std::string, std::string>*) {
  return base;
}

}  // namespace cloudkv
