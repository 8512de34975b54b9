// SPDX-License-Identifier: Apache-2.0
#include "db/compaction_picker.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace cloudkv {
namespace {

using SstList = google::protobuf::RepeatedPtrField<proto::SstMeta>;

const SstList* LevelFiles(const Manifest& m, int level) {
  static const SstList kEmpty;
  if (level == 0) return &m.l0();
  if (level - 1 < m.levels_size()) return &m.levels(level - 1).ssts();
  return &kEmpty;
}

uint64_t Bytes(const SstList& files) {
  uint64_t total = 0;
  for (const auto& f : files) total += f.size_bytes();
  return total;
}

// User-key range covered by `files`.
void RangeOf(const std::vector<proto::SstMeta>& files, std::string* smallest,
             std::string* largest) {
  assert(!files.empty());
  *smallest = std::string(ExtractUserKey(files[0].smallest_key()));
  *largest = std::string(ExtractUserKey(files[0].largest_key()));
  for (const auto& f : files) {
    std::string_view s = ExtractUserKey(f.smallest_key()), l = ExtractUserKey(f.largest_key());
    if (s < *smallest) *smallest = std::string(s);
    if (l > *largest) *largest = std::string(l);
  }
}

// Fills overlaps, trivial_move and bottommost for spec.inputs.
void Complete(const Manifest& m, const Options& o, CompactionSpec* spec) {
  std::string smallest, largest;
  RangeOf(spec->inputs, &smallest, &largest);
  spec->overlaps.clear();
  for (const auto& f : *LevelFiles(m, spec->output_level)) {
    if (SstOverlapsRange(f, smallest, largest)) spec->overlaps.push_back(f);
  }
  bool disjoint_inputs = true;
  if (spec->level == 0) {
    for (size_t i = 0; i < spec->inputs.size() && disjoint_inputs; i++) {
      for (size_t j = i + 1; j < spec->inputs.size(); j++) {
        if (SstRangesOverlap(spec->inputs[i], spec->inputs[j])) {
          disjoint_inputs = false;
          break;
        }
      }
    }
  }
  spec->trivial_move = spec->overlaps.empty() && disjoint_inputs;
  // The outputs cover the overlapped SSTs' keys too, so "nothing below" must hold for the
  // union: an overlap reaching past the inputs' range may carry a tombstone whose older
  // versions sit in a deeper level under that part of the range (found by the model test).
  for (const auto& f : spec->overlaps) {
    std::string_view s = ExtractUserKey(f.smallest_key()), l = ExtractUserKey(f.largest_key());
    if (s < smallest) smallest = std::string(s);
    if (l > largest) largest = std::string(l);
  }
  spec->bottommost = true;
  const int num_levels = EffectiveNumLevels(m, o);
  for (int level = spec->output_level + 1; level < num_levels && spec->bottommost; level++) {
    for (const auto& f : *LevelFiles(m, level)) {
      if (SstOverlapsRange(f, smallest, largest)) {
        spec->bottommost = false;
        break;
      }
    }
  }
  spec->target_sst_bytes = o.target_sst_bytes;
}

}  // namespace

int EffectiveNumLevels(const Manifest& manifest, const Options& options) {
  return std::max(options.num_levels, manifest.levels_size() + 1);
}

uint64_t LevelTargetBytes(const Options& options, int level) {
  assert(level >= 1);
  double target = static_cast<double>(options.level1_target_bytes);
  for (int i = 1; i < level; i++) target *= std::max(1, options.level_size_ratio);
  return target >= static_cast<double>(std::numeric_limits<uint64_t>::max())
             ? std::numeric_limits<uint64_t>::max()
             : static_cast<uint64_t>(target);
}

std::vector<double> CompactionScores(const Manifest& manifest, const Options& options) {
  std::vector<double> scores;
  scores.push_back(static_cast<double>(manifest.l0_size()) /
                   std::max(1, options.l0_compaction_trigger));
  for (int level = 1; level < EffectiveNumLevels(manifest, options) - 1; level++) {
    scores.push_back(static_cast<double>(Bytes(*LevelFiles(manifest, level))) /
                     std::max<uint64_t>(1, LevelTargetBytes(options, level)));
  }
  return scores;
}

std::optional<CompactionSpec> PickCompaction(const Manifest& manifest, const Options& options) {
  const std::vector<double> scores = CompactionScores(manifest, options);
  int best = -1;
  double best_score = 1.0;
  for (int level = 0; level < static_cast<int>(scores.size()); level++) {
    if (scores[level] >= best_score && (best == -1 || scores[level] > best_score)) {
      best = level;
      best_score = scores[level];
    }
  }
  // L0 first when it piles up towards the slowdown trigger.
  if (scores[0] >= 1.0 && manifest.l0_size() >= options.l0_slowdown_writes_trigger / 2) best = 0;
  if (best < 0) return std::nullopt;
  if (best == 0) return PickWholeLevel(manifest, options, 0);

  CompactionSpec spec;
  spec.level = best;
  spec.output_level = best + 1;
  const SstList& files = *LevelFiles(manifest, best);
  const SstList& next = *LevelFiles(manifest, best + 1);
  // The SST with the least overlap per byte; both lists are sorted, so one sweep finds each
  // SST's overlap.
  double best_ratio = std::numeric_limits<double>::max();
  int chosen = 0;
  int first = 0;
  for (int i = 0; i < files.size(); i++) {
    const auto& f = files[i];
    while (first < next.size() &&
           ExtractUserKey(next[first].largest_key()) < ExtractUserKey(f.smallest_key())) {
      first++;
    }
    uint64_t overlap = 0;
    for (int j = first; j < next.size() && SstRangesOverlap(next[j], f); j++) {
      overlap += next[j].size_bytes();
    }
    double ratio = static_cast<double>(overlap) / std::max<uint64_t>(1, f.size_bytes());
    if (ratio < best_ratio) {
      best_ratio = ratio;
      chosen = i;
    }
  }
  spec.inputs.push_back(files[chosen]);
  Complete(manifest, options, &spec);
  return spec;
}

std::optional<CompactionSpec> PickWholeLevel(const Manifest& manifest, const Options& options,
                                             int level) {
  assert(level >= 0 && level < EffectiveNumLevels(manifest, options) - 1);
  const SstList& files = *LevelFiles(manifest, level);
  if (files.empty()) return std::nullopt;
  CompactionSpec spec;
  spec.level = level;
  spec.output_level = level + 1;
  spec.inputs.assign(files.begin(), files.end());
  Complete(manifest, options, &spec);
  return spec;
}

std::optional<CompactionSpec> PickLastLevelRewrite(const Manifest& manifest,
                                                   const Options& options) {
  const int last = EffectiveNumLevels(manifest, options) - 1;
  const SstList& files = *LevelFiles(manifest, last);
  if (files.empty()) return std::nullopt;
  CompactionSpec spec;
  spec.level = last;
  spec.output_level = last;
  spec.inputs.assign(files.begin(), files.end());
  spec.bottommost = true;
  spec.target_sst_bytes = options.target_sst_bytes;
  return spec;
}

uint64_t EstimatePendingCompactionBytes(const Manifest& manifest, const Options& options) {
  uint64_t pending = 0;
  if (manifest.l0_size() >= options.l0_compaction_trigger) pending += Bytes(manifest.l0());
  for (int level = 1; level < EffectiveNumLevels(manifest, options) - 1; level++) {
    uint64_t bytes = Bytes(*LevelFiles(manifest, level));
    if (level == 1) bytes += pending;  // L0's bytes land here first
    uint64_t target = LevelTargetBytes(options, level);
    if (bytes > target) pending += (bytes - target) * (1 + std::max(1, options.level_size_ratio));
  }
  return pending;
}

}  // namespace cloudkv
