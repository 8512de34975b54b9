// SPDX-License-Identifier: Apache-2.0
#include "cloudkv/db.h"

#include <utility>

#include "cloudkv/object_store.h"
#include "db/db_impl.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

// A writer open that may create a database refuses a location that holds objects but no
// database (no manifest), unless options.create_in_non_empty_location.
Status RefuseNonEmptyLocation(ObjectStore& store, std::string_view url) {
  ASSIGN_OR_RETURN(ListResult manifests, store.List("manifest/", "", 1));
  if (!manifests.objects.empty()) return Status::OK();  // a database: open it
  ASSIGN_OR_RETURN(ListResult any, store.List("", "", 1));
  if (any.objects.empty()) return Status::OK();
  return Status::InvalidArgument(
      std::string(url) + " is not empty (it holds '" + any.objects.front().key.substr(0, 200) +
      "') and holds no cloudkv database; refusing to create one there (set "
      "Options::create_in_non_empty_location, or pass --create to the cloudkv command)");
}

}  // namespace

Result<std::unique_ptr<DB>> DB::Open(std::string_view url, const Options& options) {
  RETURN_IF_ERROR(options.Validate());
  const bool may_create = options.create_if_missing && !options.read_only;
  std::shared_ptr<ObjectStore> store = options.store;
  if (store == nullptr) {
    ObjectStoreOptions store_options;
    store_options.create_location = may_create;
    auto opened = OpenObjectStore(url, store_options);
    if (!opened.ok() && opened.status().IsNotFound()) {
      return Status::NotFound("no database at " + std::string(url) + ": " +
                              opened.status().message());
    }
    ASSIGN_OR_RETURN(store, std::move(opened));
  }
  if (may_create && !options.create_in_non_empty_location) {
    RETURN_IF_ERROR(RefuseNonEmptyLocation(*store, url));
  }
  auto db = std::make_unique<DBImpl>(std::string(url), options, std::move(store));
  RETURN_IF_ERROR(db->Open());
  return std::unique_ptr<DB>(std::move(db));
}

Status DB::Put(const WriteOptions& options, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(key, value);
  return Write(options, batch);
}

Status DB::Delete(const WriteOptions& options, std::string_view key) {
  WriteBatch batch;
  batch.Delete(key);
  return Write(options, batch);
}

ManagedSnapshot::ManagedSnapshot(DB& db) : db_(&db), snapshot_(db.GetSnapshot()) {}

ManagedSnapshot::ManagedSnapshot(ManagedSnapshot&& other) noexcept
    : db_(other.db_), snapshot_(std::exchange(other.snapshot_, nullptr)) {}

ManagedSnapshot& ManagedSnapshot::operator=(ManagedSnapshot&& other) noexcept {
  if (this != &other) {
    Reset();
    db_ = other.db_;
    snapshot_ = std::exchange(other.snapshot_, nullptr);
  }
  return *this;
}

ManagedSnapshot::~ManagedSnapshot() { Reset(); }

void ManagedSnapshot::Reset() {
  if (snapshot_ != nullptr) db_->ReleaseSnapshot(std::exchange(snapshot_, nullptr));
}

Status DB::DeleteRange(const WriteOptions& options, std::string_view begin, std::string_view end) {
  WriteBatch batch;
  batch.DeleteRange(begin, end);
  return Write(options, batch);
}

}  // namespace cloudkv
