// SPDX-License-Identifier: Apache-2.0
// Fragmentation by a sweep over the sorted, distinct tombstone boundaries: between two
// consecutive boundaries the set of covering tombstones is constant, so each gap with any
// covering tombstone becomes a fragment holding their sequences. Work and memory are
// proportional to the output (at worst quadratic for n nested tombstones, as in RocksDB);
// range tombstones are rare and few, so this is not a hot path.
#include "db/range_tombstone.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <limits>

namespace cloudkv {

FragmentedRangeTombstoneList::FragmentedRangeTombstoneList(
    std::span<const RangeTombstone> tombstones) {
  std::vector<const RangeTombstone*> live;
  for (const RangeTombstone& t : tombstones) {
    if (t.begin < t.end) live.push_back(&t);
  }
  if (live.empty()) return;
  for (const RangeTombstone* t : live) {
    bounds_.push_back(t->begin);
    bounds_.push_back(t->end);
  }
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  assert(bounds_.size() < std::numeric_limits<uint32_t>::max());
  auto index_of = [this](const std::string& key) {
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), key);
    assert(it != bounds_.end() && *it == key);
    return static_cast<uint32_t>(it - bounds_.begin());
  };
  struct Span {
    uint32_t begin, end;
    SequenceNumber seq;
  };
  std::vector<Span> spans;
  spans.reserve(live.size());
  for (const RangeTombstone* t : live)
    spans.push_back({index_of(t->begin), index_of(t->end), t->seq});
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });

  std::vector<Span> active;
  std::vector<SequenceNumber> seqs;
  size_t next = 0;
  for (uint32_t i = 0; i + 1 < bounds_.size(); i++) {
    std::erase_if(active, [i](const Span& s) { return s.end <= i; });
    for (; next < spans.size() && spans[next].begin == i; next++) active.push_back(spans[next]);
    if (active.empty()) continue;
    seqs.clear();
    for (const Span& s : active) seqs.push_back(s.seq);
    std::sort(seqs.begin(), seqs.end(), std::greater<>());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    if (!fragments_.empty()) {
      Piece& last = fragments_.back();
      if (last.end == i && last.seq_count == seqs.size() &&
          std::equal(seqs.begin(), seqs.end(), seqs_.begin() + last.seq_offset)) {
        last.end = i + 1;  // same coverage continues: extend
        continue;
      }
    }
    fragments_.push_back(
        Piece{i, i + 1, static_cast<uint32_t>(seqs_.size()), static_cast<uint32_t>(seqs.size())});
    seqs_.insert(seqs_.end(), seqs.begin(), seqs.end());
  }
  assert(next == spans.size());
}

FragmentedRangeTombstoneList::Fragment FragmentedRangeTombstoneList::fragment(size_t i) const {
  assert(i < fragments_.size());
  const Piece& p = fragments_[i];
  return Fragment{bounds_[p.begin], bounds_[p.end],
                  std::span<const SequenceNumber>(seqs_.data() + p.seq_offset, p.seq_count)};
}

size_t FragmentedRangeTombstoneList::FindFragment(std::string_view user_key) const {
  // The last fragment whose begin <= user_key.
  auto it = std::upper_bound(
      fragments_.begin(), fragments_.end(), user_key,
      [this](std::string_view key, const Piece& p) { return key < bounds_[p.begin]; });
  if (it == fragments_.begin()) return fragments_.size();
  --it;
  if (user_key >= bounds_[it->end]) return fragments_.size();
  return static_cast<size_t>(it - fragments_.begin());
}

SequenceNumber FragmentedRangeTombstoneList::MaxCoveringSeq(std::string_view user_key,
                                                            SequenceNumber snapshot) const {
  if (fragments_.empty()) return 0;
  const size_t i = FindFragment(user_key);
  if (i == fragments_.size()) return 0;
  std::span<const SequenceNumber> seqs = fragment(i).seqs;
  // Newest first: the first sequence <= snapshot.
  auto it = std::lower_bound(seqs.begin(), seqs.end(), snapshot, std::greater<>());
  return it == seqs.end() ? 0 : *it;
}

namespace {

// Index of the snapshot stripe holding seq: stripe i is (snapshots[i-1], snapshots[i]].
size_t StripeOf(SequenceNumber seq, std::span<const SequenceNumber> snapshots) {
  assert(std::is_sorted(snapshots.begin(), snapshots.end()));
  return static_cast<size_t>(std::lower_bound(snapshots.begin(), snapshots.end(), seq) -
                             snapshots.begin());
}

}  // namespace

bool FragmentedRangeTombstoneList::CoveredInSameStripe(
    std::string_view user_key, SequenceNumber entry_seq,
    std::span<const SequenceNumber> snapshots) const {
  const size_t i = FindFragment(user_key);
  if (i == fragments_.size()) return false;
  // The oldest tombstone newer than the entry is the likeliest to share its stripe (stripes
  // grow with the sequence).
  std::span<const SequenceNumber> seqs = fragment(i).seqs;
  SequenceNumber oldest_newer = 0;
  for (SequenceNumber s : seqs) {
    if (s <= entry_seq) break;
    oldest_newer = s;
  }
  return oldest_newer != 0 && StripeOf(oldest_newer, snapshots) == StripeOf(entry_seq, snapshots);
}

std::vector<RangeTombstone> FragmentedRangeTombstoneList::TombstonesForOutput(
    std::span<const SequenceNumber> snapshots, bool bottommost,
    const std::optional<std::string>& lower, const std::optional<std::string>& upper) const {
  std::vector<RangeTombstone> out;
  for (size_t i = 0; i < fragments_.size(); i++) {
    Fragment f = fragment(i);
    std::string_view begin = f.begin, end = f.end;
    if (lower && begin < *lower) begin = *lower;
    if (upper && end > *upper) end = *upper;
    if (begin >= end) continue;
    size_t previous_stripe = std::numeric_limits<size_t>::max();
    for (SequenceNumber s : f.seqs) {  // newest first
      const size_t stripe = StripeOf(s, snapshots);
      if (stripe == previous_stripe) continue;  // hidden by a newer one of its stripe
      previous_stripe = stripe;
      if (bottommost && stripe == 0) continue;
      out.push_back(RangeTombstone{std::string(begin), std::string(end), s});
    }
  }
  return out;
}

size_t FragmentedRangeTombstoneList::memory_bytes() const {
  size_t bytes = sizeof(*this) + seqs_.capacity() * sizeof(SequenceNumber) +
                 fragments_.capacity() * sizeof(Piece) + bounds_.capacity() * sizeof(std::string);
  for (const std::string& b : bounds_) bytes += b.capacity();
  return bytes;
}

SequenceNumber MaxCoveringSeq(std::span<const RangeTombstoneListPtr> lists,
                              std::string_view user_key, SequenceNumber snapshot) {
  SequenceNumber best = 0;
  for (const RangeTombstoneListPtr& list : lists) {
    if (list != nullptr) best = std::max(best, list->MaxCoveringSeq(user_key, snapshot));
  }
  return best;
}

}  // namespace cloudkv
