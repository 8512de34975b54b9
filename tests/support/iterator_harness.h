// SPDX-License-Identifier: Apache-2.0
// Iterator contract harness: checks any cloudkv::Iterator against a model (a sorted vector of
// the same entries) with random operation sequences.
//
// Usage (in a gtest test):
//
//   IteratorHarnessOptions options;
//   options.internal_keys = true;           // keys are internal keys (format/dbformat.h)
//   RunIteratorContract("MyIter", [&](const std::vector<KeyValue>& sorted) {
//     return BuildMyIteratorOver(sorted);   // std::unique_ptr<Iterator>
//   }, options);
//
// For each data set size in options.sizes (0 = the empty source), the harness generates
// distinct keys (user-key byte order, or internal-key order with several versions per user key
// when options.internal_keys), sorts them by options.compare, calls the factory, and checks:
//   - a fresh iterator is not Valid() and has an OK status;
//   - a full forward walk (SeekToFirst + Next) and a full backward walk (SeekToLast + Prev)
//     return exactly the model's entries, and end not Valid();
//   - options.operations random steps of Seek / SeekForPrev (to existing keys, missing keys
//     between and near existing ones, before the first and after the last key), SeekToFirst,
//     SeekToLast, Next and Prev (with direction changes), comparing Valid(), key(), value() and
//     status() with the model after every step.
// Failures are reported with ADD_FAILURE, listing the last operations; the data set stops at
// its first mismatch. The seed comes from TestSeed(name) (printed; CLOUDKV_SEED replays it).
//
// The factory may be called several times per data set (once per fresh iterator); each call
// gets the same entries. It may return null to signal its own failure (reported by the
// harness as a test failure).
#ifndef CLOUDKV_TESTS_SUPPORT_ITERATOR_HARNESS_H_
#define CLOUDKV_TESTS_SUPPORT_ITERATOR_HARNESS_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudkv/iterator.h"
#include "util/random.h"

namespace cloudkv {

using KeyValue = std::pair<std::string, std::string>;
// Three-way comparison (<0, 0, >0).
using KeyCompareFn = std::function<int(std::string_view, std::string_view)>;

int BytewiseCompare(std::string_view a, std::string_view b);

struct IteratorHarnessOptions {
  // Generate internal keys (user key + fixed64 trailer) with 1-3 versions per user key, puts
  // and deletions, every sequence number distinct; targets are internal keys too. The default
  // compare then should be CompareInternalKeys (set automatically when `compare` is left empty).
  bool internal_keys = false;
  // The order the iterator promises; empty = BytewiseCompare or CompareInternalKeys.
  KeyCompareFn compare;
  // Entry counts of the generated data sets.
  std::vector<size_t> sizes = {0, 1, 2, 5, 40, 300, 2000};
  // Random operations per data set.
  int operations = 1000;
  // User keys are 1..max_user_key_bytes bytes from a small alphabet (so keys share prefixes).
  size_t max_user_key_bytes = 10;
  size_t max_value_bytes = 40;
};

using IteratorFactory =
    std::function<std::unique_ptr<Iterator>(const std::vector<KeyValue>& sorted)>;

// Runs the whole contract check over generated data sets.
void RunIteratorContract(std::string_view test_name, const IteratorFactory& factory,
                         IteratorHarnessOptions options = {});

// Generates n entries with distinct keys, sorted by the options' order.
std::vector<KeyValue> GenerateSortedEntries(Random* rnd, size_t n,
                                            const IteratorHarnessOptions& options);

// Checks iterators over one given data set (sorted by the options' order, distinct keys).
// Returns false after reporting the first mismatch.
bool CheckIteratorContract(const std::vector<KeyValue>& sorted, const IteratorFactory& factory,
                           Random* rnd, const IteratorHarnessOptions& options);

}  // namespace cloudkv

#endif  // CLOUDKV_TESTS_SUPPORT_ITERATOR_HARNESS_H_
