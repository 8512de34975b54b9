// SPDX-License-Identifier: Apache-2.0
// Iterator: an ordered cursor over key/value pairs.
//
// The same interface serves the DB (user keys) and the engine's internal layers (internal
// keys). An iterator is either positioned at an entry (Valid()) or not. Keys are ordered
// byte-wise. key() and value() stay valid until the iterator is moved or destroyed.
//
// Errors are reported only through status(): an error makes the iterator invalid and status()
// says why (for DB::NewIterator: Corruption, IOError, TimedOut while reading; InvalidArgument
// or Fenced when the iterator could not be created). So once Valid() is false, check status():
// OK means the end (or no entry at the target) was reached.
//
// Thread-safety: an iterator is not safe for concurrent use; distinct iterators are.
#ifndef CLOUDKV_ITERATOR_H_
#define CLOUDKV_ITERATOR_H_

#include <string_view>

#include "cloudkv/status.h"

namespace cloudkv {

class Iterator {
 public:
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  virtual ~Iterator() = default;

  virtual bool Valid() const = 0;
  // Positions at the first / last entry (invalid if there is none).
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Positions at the first entry with key >= target.
  virtual void Seek(std::string_view target) = 0;
  // Positions at the last entry with key <= target.
  virtual void SeekForPrev(std::string_view target) = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  // REQUIRES: Valid().
  virtual void Prev() = 0;
  // REQUIRES: Valid().
  virtual std::string_view key() const = 0;
  // REQUIRES: Valid().
  virtual std::string_view value() const = 0;
  // OK unless an error (I/O, corruption) was met; then the iterator is not Valid().
  virtual Status status() const = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_ITERATOR_H_
