#include "server/counting_store.h"

namespace cloudkv::server {

double StoreCounts::EstimatedRequestCostUsd() const {
  return static_cast<double>(puts + lists) * 0.005 / 1000 +
         static_cast<double>(gets + heads) * 0.0004 / 1000;
}

StoreCounts CountingStore::counts() const {
  StoreCounts c;
  c.gets = gets_.load();
  c.heads = heads_.load();
  c.puts = puts_.load();
  c.deletes = deletes_.load();
  c.lists = lists_.load();
  c.errors = errors_.load();
  c.bytes_read = bytes_read_.load();
  c.bytes_written = bytes_written_.load();
  return c;
}

Result<GetResult> CountingStore::Get(std::string_view key, std::optional<ByteRange> range) {
  gets_++;
  Result<GetResult> r = base_->Get(key, range);
  if (r.ok()) {
    bytes_read_ += r->data.size();
  } else if (!r.status().IsNotFound()) {
    errors_++;
  }
  return r;
}

Result<ObjectInfo> CountingStore::Head(std::string_view key) {
  heads_++;
  Result<ObjectInfo> r = base_->Head(key);
  if (!r.ok() && !r.status().IsNotFound()) errors_++;
  return r;
}

Result<std::string> CountingStore::Put(std::string_view key, std::string_view data,
                                       const PutOptions& options) {
  puts_++;
  Result<std::string> r = base_->Put(key, data, options);
  if (r.ok()) {
    bytes_written_ += data.size();
  } else if (!r.status().IsPreconditionFailed()) {
    errors_++;
  }
  return r;
}

Status CountingStore::Delete(std::string_view key) {
  deletes_++;
  Status s = base_->Delete(key);
  if (!s.ok()) errors_++;
  return s;
}

Status CountingStore::DeleteMany(std::span<const std::string> keys) {
  deletes_ += keys.size();
  Status s = base_->DeleteMany(keys);
  if (!s.ok()) errors_++;
  return s;
}

Result<ListResult> CountingStore::List(std::string_view prefix, std::string_view start_after,
                                       size_t limit) {
  lists_++;
  Result<ListResult> r = base_->List(prefix, start_after, limit);
  if (!r.ok()) errors_++;
  return r;
}

}  // namespace cloudkv::server
