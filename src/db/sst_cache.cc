// SPDX-License-Identifier: Apache-2.0
#include "db/sst_cache.h"

#include <algorithm>
#include <latch>

#include "util/status_macros.h"

namespace cloudkv {

SstCache::SstCache(std::shared_ptr<ObjectStore> store, SstReadOptions read_options,
                   ThreadPool* pool)
    : store_(std::move(store)), read_options_(std::move(read_options)), pool_(pool) {}

void SstCache::Add(const std::string& object_key, std::shared_ptr<SstReader> reader) {
  RangeTombstoneListPtr tombstones = FragmentRangeTombstones(*reader);
  std::lock_guard<std::mutex> lock(mu_);
  readers_[object_key] = OpenSst{std::move(reader), std::move(tombstones)};
}

Result<SstCache::OpenSst> SstCache::Open(const proto::SstMeta& meta) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = readers_.find(meta.object_key());
    if (it != readers_.end()) return it->second;
  }
  // Opened outside the lock: it reads the SST's tail from the store.
  ASSIGN_OR_RETURN(std::shared_ptr<SstReader> reader,
                   SstReader::Open(store_, meta.object_key(), meta.size_bytes(), read_options_));
  RangeTombstoneListPtr tombstones = FragmentRangeTombstones(*reader);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] =
      readers_.emplace(meta.object_key(), OpenSst{std::move(reader), std::move(tombstones)});
  return it->second;
}

Result<std::shared_ptr<SstReader>> SstCache::GetReader(const proto::SstMeta& meta) {
  ASSIGN_OR_RETURN(OpenSst open, Open(meta));
  return open.reader;
}

Status SstCache::OpenMissing(const Manifest& manifest) {
  std::vector<const proto::SstMeta*> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto add = [&](const proto::SstMeta& meta) {
      if (!readers_.contains(meta.object_key())) missing.push_back(&meta);
    };
    for (const auto& meta : manifest.l0()) add(meta);
    for (const auto& level : manifest.levels()) {
      for (const auto& meta : level.ssts()) add(meta);
    }
  }
  if (missing.size() < 2 || pool_ == nullptr) return Status::OK();  // BuildVersion opens it
  std::vector<Status> results(missing.size());
  std::latch done(static_cast<std::ptrdiff_t>(missing.size() - 1));
  for (size_t i = 1; i < missing.size(); i++) {
    pool_->Submit([&, i] {
      results[i] = Open(*missing[i]).status();
      done.count_down();
    });
  }
  results[0] = Open(*missing[0]).status();
  done.wait();
  for (const Status& s : results) RETURN_IF_ERROR(s);
  return Status::OK();
}

Result<std::shared_ptr<Version>> SstCache::BuildVersion(const Manifest& manifest) {
  RETURN_IF_ERROR(OpenMissing(manifest));
  auto v = std::make_shared<Version>();
  for (const auto& meta : manifest.l0()) {
    ASSIGN_OR_RETURN(OpenSst open, Open(meta));
    v->l0.push_back(std::make_shared<SstFile>(
        SstFile{meta, std::move(open.reader), std::move(open.range_tombstones)}));
  }
  for (const auto& level : manifest.levels()) {
    v->levels.emplace_back();
    for (const auto& meta : level.ssts()) {
      ASSIGN_OR_RETURN(OpenSst open, Open(meta));
      v->levels.back().push_back(std::make_shared<SstFile>(
          SstFile{meta, std::move(open.reader), std::move(open.range_tombstones)}));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (built_.size() >= 64) {
    std::erase_if(built_, [](const std::weak_ptr<const Version>& w) { return w.expired(); });
  }
  built_.push_back(v);
  return v;
}

std::set<std::string> SstCache::LiveSstKeys() {
  std::vector<std::shared_ptr<const Version>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(built_, [](const std::weak_ptr<const Version>& w) { return w.expired(); });
    for (const auto& w : built_) {
      if (auto v = w.lock()) live.push_back(std::move(v));
    }
  }
  std::set<std::string> keys;
  for (const auto& v : live) {
    for (const auto& f : v->l0) keys.insert(f->meta.object_key());
    for (const auto& level : v->levels) {
      for (const auto& f : level) keys.insert(f->meta.object_key());
    }
  }
  return keys;
}

void SstCache::Retain(const Manifest& manifest) {
  std::set<std::string> live;
  for (const auto& meta : manifest.l0()) live.insert(meta.object_key());
  for (const auto& level : manifest.levels()) {
    for (const auto& meta : level.ssts()) live.insert(meta.object_key());
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = readers_.begin(); it != readers_.end();) {
    it = live.count(it->first) ? std::next(it) : readers_.erase(it);
  }
}

}  // namespace cloudkv
