// SPDX-License-Identifier: Apache-2.0
// The SST iterator: a two-level cursor (pinned index -> data blocks). Blocks come from the
// block cache, else from the iterator's own readahead buffer, else from a new object read
// whose size doubles while the scan stays sequential (up to max_readahead_bytes). Once a
// forward scan is sequential, and the reader has a prefetch pool, the next windows are read in
// the background (SstReadOptions::prefetch_windows of them in flight, each starting at a block
// boundary), so a scan waits for
// the store at most once per window instead of once per read.
#include <algorithm>
#include <cassert>
#include <deque>
#include <future>

#include "format/sst_reader.h"
#include "util/status_macros.h"

namespace cloudkv {

class SstIterator final : public Iterator {
 public:
  SstIterator(std::shared_ptr<SstReader> reader, bool fill_cache, size_t scan_readahead_bytes)
      : reader_(std::move(reader)),
        fill_cache_(fill_cache),
        scan_readahead_bytes_(scan_readahead_bytes),
        num_blocks_(reader_->handles_.size()) {}

  bool Valid() const override { return block_ != nullptr && iter_.Valid(); }
  std::string_view key() const override { return iter_.key(); }
  std::string_view value() const override { return iter_.value(); }
  Status status() const override { return status_; }

  void SeekToFirst() override {
    if (!LoadBlock(0, /*forward=*/true)) return;
    iter_.SeekToFirst();
    SkipEmptyForward();
  }

  void SeekToLast() override {
    if (num_blocks_ == 0) return LoadBlock(0, false), void();
    if (!LoadBlock(num_blocks_ - 1, /*forward=*/false)) return;
    iter_.SeekToLast();
    SkipEmptyBackward();
  }

  void Seek(std::string_view target) override {
    if (!LoadBlock(reader_->FindBlock(target), /*forward=*/true)) return;
    iter_.Seek(target);
    SkipEmptyForward();
  }

  void SeekForPrev(std::string_view target) override {
    // Every key of the blocks after FindBlock(target) is > target.
    size_t i = reader_->FindBlock(target);
    if (i == num_blocks_ && num_blocks_ > 0) i--;
    if (!LoadBlock(i, /*forward=*/false)) return;
    iter_.SeekForPrev(target);
    SkipEmptyBackward();
  }

  void Next() override {
    assert(Valid());
    iter_.Next();
    SkipEmptyForward();
  }

  void Prev() override {
    assert(Valid());
    iter_.Prev();
    SkipEmptyBackward();
  }

 private:
  // Makes block i current (invalid if i is out of range or on error); true if it is loaded.
  bool LoadBlock(size_t i, bool forward);
  void SkipEmptyForward() {
    while (block_ != nullptr && !iter_.Valid()) {
      if (!CheckBlockStatus()) return;
      if (!LoadBlock(block_index_ + 1, true)) return;
      iter_.SeekToFirst();
    }
  }
  void SkipEmptyBackward() {
    while (block_ != nullptr && !iter_.Valid()) {
      if (!CheckBlockStatus()) return;
      if (block_index_ == 0) return Clear();
      if (!LoadBlock(block_index_ - 1, false)) return;
      iter_.SeekToLast();
    }
  }
  // Moves a block iterator's corruption into status_ (naming the object and block).
  bool CheckBlockStatus() {
    if (iter_.status().ok()) return true;
    status_ = reader_->Corrupt(reader_->handles_[block_index_].offset, iter_.status().message());
    Clear();
    return false;
  }
  void Clear() {
    block_.reset();
    iter_.Reset();
  }
  Result<std::shared_ptr<const Block>> FetchBlock(size_t i, bool forward);

  const std::shared_ptr<SstReader> reader_;
  const bool fill_cache_;
  const size_t scan_readahead_bytes_;
  const size_t num_blocks_;
  Status status_;
  size_t block_index_ = 0;
  std::shared_ptr<const Block> block_;  // null when the iterator is invalid
  BlockIter iter_;

  // Readahead: object bytes [buffer_offset_, buffer_offset_ + buffer_.size()).
  std::string buffer_;
  uint64_t buffer_offset_ = 0;
  size_t readahead_bytes_ = 0;
  size_t last_fetched_ = SIZE_MAX;  // block index that caused the last fetch

  // Background reads of the windows after the buffer, in object order.
  struct Prefetch {
    uint64_t begin;
    uint64_t end;
    std::shared_future<Result<std::string>> bytes;
  };
  std::deque<Prefetch> prefetches_;
  // Queues background reads after `end` (the end of what a forward sequential fetch read) until
  // prefetch_windows windows of `window` bytes are in flight.
  void PrefetchAfter(uint64_t end, size_t window);
  // The prefetched window holding block i, waited for and made the buffer; false if none holds
  // it (prefetches that cannot serve a forward scan from i on are dropped).
  Result<bool> TakePrefetched(size_t i);
};

void SstIterator::PrefetchAfter(uint64_t end, size_t window) {
  SstReader& r = *reader_;
  ThreadPool* pool = r.options_.prefetch_pool;
  if (pool == nullptr || r.options_.prefetch_windows == 0 || window == 0) return;
  uint64_t next = prefetches_.empty() ? end : std::max(end, prefetches_.back().end);
  // Each window starts at a block boundary: the block that the previous read cut in two is
  // read whole again, so every block lies inside one window.
  while (prefetches_.size() < r.options_.prefetch_windows && next < r.data_end_) {
    auto it = std::upper_bound(r.handles_.begin(), r.handles_.end(), next,
                               [](uint64_t p, const BlockHandle& h) { return p < h.offset; });
    if (it == r.handles_.begin()) return;  // before the first block: nothing to read ahead
    const size_t block = static_cast<size_t>(std::prev(it) - r.handles_.begin());
    next = r.handles_[block].offset;
    // A window holds at least the block it starts with.
    const uint64_t stop =
        std::min<uint64_t>(r.data_end_, std::max<uint64_t>(next + window, r.BlockEnd(block)));
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    prefetches_.push_back(Prefetch{next, stop, promise->get_future().share()});
    // The task keeps the reader alive; a result nobody takes any more is dropped.
    pool->Submit([reader = reader_, promise, next, stop] {
      promise->set_value(reader->ReadRange(next, stop));
    });
    next = stop;
  }
}

Result<bool> SstIterator::TakePrefetched(size_t i) {
  SstReader& r = *reader_;
  const uint64_t offset = r.handles_[i].offset;
  while (!prefetches_.empty() && prefetches_.front().end <= offset) prefetches_.pop_front();
  if (prefetches_.empty()) return false;
  Prefetch& p = prefetches_.front();
  if (p.begin > offset || r.BlockEnd(i) > p.end) {
    prefetches_.clear();  // a seek elsewhere, or a block across windows: read it directly
    return false;
  }
  Result<std::string> bytes = p.bytes.get();
  const uint64_t begin = p.begin;
  prefetches_.pop_front();
  if (!bytes.ok()) return bytes.status();
  buffer_ = std::move(bytes).value();
  buffer_offset_ = begin;
  last_fetched_ = i;
  RETURN_IF_ERROR(r.CheckHeaderIn(buffer_, buffer_offset_));
  return true;
}

bool SstIterator::LoadBlock(size_t i, bool forward) {
  if (!status_.ok() || i >= num_blocks_) {
    Clear();
    return false;
  }
  if (block_ != nullptr && block_index_ == i) {
    iter_.Init(block_.get());
    return true;
  }
  auto block = FetchBlock(i, forward);
  if (!block.ok()) {
    status_ = block.status();
    Clear();
    return false;
  }
  block_ = std::move(block).value();
  block_index_ = i;
  iter_.Init(block_.get());
  return true;
}

Result<std::shared_ptr<const Block>> SstIterator::FetchBlock(size_t i, bool forward) {
  SstReader& r = *reader_;
  BlockCache* cache = r.options_.cache.get();
  const BlockHandle& h = r.handles_[i];
  if (cache != nullptr) {
    auto cached = std::static_pointer_cast<const Block>(cache->Lookup(r.cache_id_, h.offset));
    if (cached != nullptr) return cached;
  }
  const uint64_t unit = r.options_.read_unit_bytes;
  const bool in_buffer =
      h.offset >= buffer_offset_ && r.BlockEnd(i) <= buffer_offset_ + buffer_.size();
  bool prefetched = false;
  if (forward && !in_buffer && !prefetches_.empty()) {
    ASSIGN_OR_RETURN(prefetched, TakePrefetched(i));
  }
  if (prefetched) {
    // Keep the windows coming (the buffer just taken was the oldest of them), growing them as
    // a synchronous sequential scan grows its reads.
    readahead_bytes_ = std::min<size_t>(std::max<size_t>(2 * readahead_bytes_, unit),
                                        std::max(unit, r.options_.max_readahead_bytes));
    PrefetchAfter(buffer_offset_ + buffer_.size(),
                  scan_readahead_bytes_ > 0 ? scan_readahead_bytes_ : readahead_bytes_);
  } else if (scan_readahead_bytes_ > 0 && forward && !in_buffer) {
    // A scan of the whole object: one large read from this block on, the next ones ahead.
    const uint64_t begin = h.offset;
    const uint64_t end =
        std::min(r.data_end_, std::max(r.BlockEnd(i), begin + scan_readahead_bytes_));
    ASSIGN_OR_RETURN(buffer_, r.ReadRange(begin, end));
    buffer_offset_ = begin;
    last_fetched_ = i;
    RETURN_IF_ERROR(r.CheckHeaderIn(buffer_, buffer_offset_));
    PrefetchAfter(end, scan_readahead_bytes_);
  } else if (unit == 0 && !in_buffer) {
    return r.ReadBlock(i, fill_cache_);  // exactly the block, no readahead
  } else if (!in_buffer) {
    // Not in the readahead buffer: fetch. A sequential scan doubles the readahead.
    const bool sequential =
        last_fetched_ != SIZE_MAX && (forward ? i > last_fetched_ : i < last_fetched_);
    readahead_bytes_ = sequential ? std::min<size_t>(std::max<size_t>(2 * readahead_bytes_, unit),
                                                     std::max(unit, r.options_.max_readahead_bytes))
                                  : unit;
    uint64_t begin, end;
    if (forward) {
      begin = h.offset / unit * unit;
      end = std::max(r.BlockEnd(i), begin + readahead_bytes_);
      end = std::min(r.data_end_, (end + unit - 1) / unit * unit);
    } else {
      end = std::min(r.data_end_, (r.BlockEnd(i) + unit - 1) / unit * unit);
      begin = end > readahead_bytes_ ? end - readahead_bytes_ : 0;
      begin = std::min(h.offset, begin) / unit * unit;
    }
    ASSIGN_OR_RETURN(buffer_, r.ReadRange(begin, end));
    buffer_offset_ = begin;
    last_fetched_ = i;
    RETURN_IF_ERROR(r.CheckHeaderIn(buffer_, buffer_offset_));
    // A scan that stays sequential has the next windows read ahead in the background.
    if (forward && sequential) PrefetchAfter(end, readahead_bytes_);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Block> block, r.DecodeBlock(i, buffer_, buffer_offset_));
  if (cache != nullptr && fill_cache_) r.InsertIntoCache(i, block);
  return block;
}

std::unique_ptr<Iterator> SstReader::NewIterator(bool fill_cache, size_t scan_readahead_bytes) {
  return std::make_unique<SstIterator>(shared_from_this(), fill_cache, scan_readahead_bytes);
}

}  // namespace cloudkv
