#include "cloudkv/db.h"

#include <utility>

#include "db/db_impl.h"
#include "util/status_macros.h"

namespace cloudkv {

Result<std::unique_ptr<DB>> DB::Open(std::string_view url, const Options& options) {
  RETURN_IF_ERROR(options.Validate());
  std::shared_ptr<ObjectStore> store = options.store;
  if (store == nullptr) {
    ASSIGN_OR_RETURN(store, OpenObjectStore(url));
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
