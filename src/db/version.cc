#include "db/version.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "db/level_iterator.h"
#include "util/status_macros.h"

namespace cloudkv {

namespace {

// Looks user_key up in one SST whose key range holds it: raises *max_covering_seq by the SST's
// range tombstones, then looks for a point entry.
Status GetFromSst(const SstFile& f, std::string_view user_key, SequenceNumber snapshot,
                  LookupResult* result, SequenceNumber* max_covering_seq, bool fill_cache) {
  const RangeTombstoneListPtr& tombstones = f.range_tombstones;
  if (tombstones != nullptr) {
    *max_covering_seq = std::max(*max_covering_seq, tombstones->MaxCoveringSeq(user_key, snapshot));
  }
  return f.reader->Get(user_key, snapshot, result, fill_cache);
}

bool KeyInRange(const SstFile& f, std::string_view user_key) {
  return user_key >= ExtractUserKey(f.meta.smallest_key()) &&
         user_key <= ExtractUserKey(f.meta.largest_key());
}

}  // namespace

Status Version::Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result,
                    SequenceNumber* max_covering_seq, bool fill_cache) const {
  assert(max_covering_seq != nullptr);
  for (const auto& f : l0) {
    if (!KeyInRange(*f, user_key)) continue;
    RETURN_IF_ERROR(GetFromSst(*f, user_key, snapshot, result, max_covering_seq, fill_cache));
    if (result->state != LookupState::kNotPresent) return Status::OK();
  }
  for (const auto& level : levels) {
    // The first SST whose largest user key >= user_key. The next SSTs may hold user_key too:
    // an SST's largest key can be the exclusive end of a range tombstone, equal to the next
    // SST's smallest user key.
    auto it = std::lower_bound(level.begin(), level.end(), user_key,
                               [](const std::shared_ptr<SstFile>& f, std::string_view k) {
                                 return ExtractUserKey(f->meta.largest_key()) < k;
                               });
    for (; it != level.end() && KeyInRange(**it, user_key); ++it) {
      RETURN_IF_ERROR(GetFromSst(**it, user_key, snapshot, result, max_covering_seq, fill_cache));
      if (result->state != LookupState::kNotPresent) return Status::OK();
    }
  }
  result->state = LookupState::kNotPresent;
  return Status::OK();
}

void Version::AddRangeTombstones(std::vector<RangeTombstoneListPtr>* out) const {
  for (const auto& f : l0) {
    if (f->range_tombstones) out->push_back(f->range_tombstones);
  }
  for (const auto& level : levels) {
    for (const auto& f : level) {
      if (f->range_tombstones) out->push_back(f->range_tombstones);
    }
  }
}

void Version::AddIterators(std::vector<std::unique_ptr<Iterator>>* out, bool fill_cache) const {
  for (const auto& f : l0) out->push_back(f->reader->NewIterator(fill_cache));
  for (const auto& level : levels) {
    if (!level.empty()) out->push_back(NewLevelIterator(level, fill_cache));
  }
}

uint64_t Version::LevelBytes(int level) const {
  uint64_t total = 0;
  const auto& files = level == 0 ? l0 : levels[level - 1];
  for (const auto& f : files) total += f->meta.size_bytes();
  return total;
}

uint64_t Version::TotalBytes() const {
  uint64_t total = 0;
  for (int i = 0; i <= static_cast<int>(levels.size()); i++) total += LevelBytes(i);
  return total;
}

SstCache::SstCache(std::shared_ptr<ObjectStore> store, SstReadOptions read_options)
    : store_(std::move(store)), read_options_(std::move(read_options)) {}

RangeTombstoneListPtr FragmentRangeTombstones(const SstReader& reader) {
  if (reader.range_tombstones().empty()) return nullptr;
  return std::make_shared<const FragmentedRangeTombstoneList>(reader.range_tombstones());
}

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

Result<std::shared_ptr<Version>> SstCache::BuildVersion(const Manifest& manifest) {
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
