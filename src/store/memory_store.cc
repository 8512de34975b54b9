// SPDX-License-Identifier: Apache-2.0
// memory://: an in-process object store for tests. Objects live in a sorted map behind one
// mutex; etags are a per-store counter, so every put yields a new etag.
#include <map>
#include <mutex>

#include "store/stores.h"

namespace cloudkv {
namespace {

class MemoryStore final : public ObjectStore {
 public:
  explicit MemoryStore(std::string name) : name_(std::move(name)) {}

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    if (Status s = ValidateObjectKey(key); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return NotFound(key);
    const Object& obj = it->second;
    GetResult out;
    out.etag = obj.etag;
    out.object_size = obj.data.size();
    if (!range) {
      out.data = obj.data;
      return out;
    }
    if (range->length == 0) return out;
    if (range->offset >= obj.data.size()) {
      return Status::InvalidArgument("range starts at " + std::to_string(range->offset) +
                                     ", past the end of '" + std::string(key) + "' (" +
                                     std::to_string(obj.data.size()) + " bytes)");
    }
    out.data = obj.data.substr(range->offset, range->length);
    return out;
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    if (Status s = ValidateObjectKey(key); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return NotFound(key);
    return ObjectInfo{std::string(key), it->second.data.size(), it->second.etag};
  }

  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override {
    if (Status s = ValidateObjectKey(key); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (options.mode == PutMode::kIfAbsent && it != objects_.end()) {
      return Status::PreconditionFailed("'" + std::string(key) + "' already exists");
    }
    if (options.mode == PutMode::kIfMatch &&
        (it == objects_.end() || it->second.etag != options.if_match)) {
      return Status::PreconditionFailed("'" + std::string(key) + "' does not have etag '" +
                                        options.if_match + "'");
    }
    std::string etag = "m" + std::to_string(++etag_counter_);
    objects_[std::string(key)] = Object{std::string(data), etag};
    return etag;
  }

  Status Delete(std::string_view key) override {
    if (Status s = ValidateObjectKey(key); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it != objects_.end()) objects_.erase(it);
    return Status::OK();
  }

  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override {
    if (limit == 0) limit = 1000;
    std::lock_guard<std::mutex> lock(mu_);
    ListResult out;
    auto it =
        start_after < prefix ? objects_.lower_bound(prefix) : objects_.upper_bound(start_after);
    for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (out.objects.size() == limit) {
        out.truncated = true;
        break;
      }
      out.objects.push_back(ObjectInfo{it->first, it->second.data.size(), it->second.etag});
    }
    return out;
  }

  std::string Describe() const override { return "memory://" + name_; }

 private:
  struct Object {
    std::string data;
    std::string etag;
  };

  Status NotFound(std::string_view key) const {
    return Status::NotFound("'" + std::string(key) + "' not found in memory://" + name_);
  }

  const std::string name_;
  std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;
  uint64_t etag_counter_ = 0;
};

std::mutex registry_mu;
std::map<std::string, std::shared_ptr<ObjectStore>>& Registry() {
  static auto* registry = new std::map<std::string, std::shared_ptr<ObjectStore>>();
  return *registry;
}

}  // namespace

std::shared_ptr<ObjectStore> NewMemoryStore(const std::string& name) {
  std::lock_guard<std::mutex> lock(registry_mu);
  auto& slot = Registry()[name];
  if (!slot) slot = std::make_shared<MemoryStore>(name);
  return slot;
}

std::shared_ptr<ObjectStore> NewPrivateMemoryStore(const std::string& name) {
  return std::make_shared<MemoryStore>(name);
}

void DropMemoryStore(const std::string& name) {
  std::lock_guard<std::mutex> lock(registry_mu);
  Registry().erase(name);
}

}  // namespace cloudkv
