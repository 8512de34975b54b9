// SPDX-License-Identifier: Apache-2.0
// The merging iterator keeps its valid children in a binary heap ordered by (internal key,
// child index): a min-heap while moving forward and a max-heap while moving backward. The top
// is the current entry. Next/Prev move the top child and sift it down (one "replace top" per
// step, ~log2(children) comparisons on cached keys). A direction change re-seeks every other
// child around the current key, exactly as LevelDB/RocksDB do, with the child index breaking
// ties so the order stays total.
#include "db/merging_iterator.h"

#include <cassert>
#include <string>
#include <utility>

#include "format/dbformat.h"

namespace cloudkv {
namespace {

class EmptyIterator final : public Iterator {
 public:
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void SeekToLast() override {}
  void Seek(std::string_view) override {}
  void SeekForPrev(std::string_view) override {}
  void Next() override { assert(false); }
  void Prev() override { assert(false); }
  std::string_view key() const override {
    assert(false);
    return {};
  }
  std::string_view value() const override {
    assert(false);
    return {};
  }
  Status status() const override { return Status::OK(); }
};

struct Child {
  std::unique_ptr<Iterator> iter;
  std::string_view key;  // iter->key() while iter is valid (cached: saves virtual calls)
  size_t index = 0;
};

class MergingIterator final : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
    children_.resize(children.size());
    for (size_t i = 0; i < children.size(); i++) {
      assert(children[i] != nullptr);
      children_[i].iter = std::move(children[i]);
      children_[i].index = i;
    }
    heap_.reserve(children_.size());
  }

  bool Valid() const override { return !heap_.empty(); }

  void SeekToFirst() override {
    for (Child& c : children_) c.iter->SeekToFirst();
    Rebuild(/*forward=*/true);
  }
  void SeekToLast() override {
    for (Child& c : children_) c.iter->SeekToLast();
    Rebuild(/*forward=*/false);
  }
  void Seek(std::string_view target) override {
    for (Child& c : children_) c.iter->Seek(target);
    Rebuild(/*forward=*/true);
  }
  void SeekForPrev(std::string_view target) override {
    for (Child& c : children_) c.iter->SeekForPrev(target);
    Rebuild(/*forward=*/false);
  }

  void Next() override {
    assert(Valid());
    if (!forward_) SwitchDirection(/*forward=*/true);
    Child* top = heap_[0];
    top->iter->Next();
    AdvancedTop(top);
  }

  void Prev() override {
    assert(Valid());
    if (forward_) SwitchDirection(/*forward=*/false);
    Child* top = heap_[0];
    top->iter->Prev();
    AdvancedTop(top);
  }

  std::string_view key() const override {
    assert(Valid());
    return heap_[0]->key;
  }
  std::string_view value() const override {
    assert(Valid());
    return heap_[0]->iter->value();
  }
  Status status() const override { return status_; }

 private:
  // True if a comes before b in the current direction's order.
  bool Before(const Child* a, const Child* b) const {
    int r = CompareInternalKeys(a->key, b->key);
    if (r == 0) r = a->index < b->index ? -1 : 1;
    return forward_ ? r < 0 : r > 0;
  }

  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    Child* item = heap_[i];
    while (true) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && Before(heap_[child + 1], heap_[child])) child++;
      if (!Before(heap_[child], item)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = item;
  }

  // Records a child's new position; false (and the error recorded) if it stopped on an error.
  bool Refresh(Child* c) {
    if (c->iter->Valid()) {
      c->key = c->iter->key();
      return true;
    }
    Status s = c->iter->status();
    if (!s.ok() && status_.ok()) status_ = std::move(s);
    return false;
  }

  // After the top child moved: keep it in the heap or drop it.
  void AdvancedTop(Child* top) {
    if (Refresh(top)) {
      SiftDown(0);
    } else {
      heap_[0] = heap_.back();
      heap_.pop_back();
      if (!heap_.empty()) SiftDown(0);
    }
    if (!status_.ok()) heap_.clear();
  }

  void Rebuild(bool forward) {
    forward_ = forward;
    status_ = Status::OK();
    heap_.clear();
    for (Child& c : children_) {
      if (Refresh(&c)) heap_.push_back(&c);
    }
    if (!status_.ok()) {
      heap_.clear();
      return;
    }
    for (size_t i = heap_.size() / 2; i-- > 0;) SiftDown(i);
  }

  // Repositions every child but the current one just after (forward) or before (backward) the
  // current entry in (key, index) order, then rebuilds the heap for the new direction.
  void SwitchDirection(bool forward) {
    Child* current = heap_[0];
    const std::string_view key = current->key;  // current->iter does not move: stays valid
    heap_.clear();
    for (Child& c : children_) {
      if (&c == current) continue;
      if (forward) {
        c.iter->Seek(key);
        // An equal key in an earlier child was already yielded.
        if (c.iter->Valid() && c.index < current->index &&
            CompareInternalKeys(c.iter->key(), key) == 0) {
          c.iter->Next();
        }
      } else {
        c.iter->SeekForPrev(key);
        // An equal key in a later child comes after the current entry.
        if (c.iter->Valid() && c.index > current->index &&
            CompareInternalKeys(c.iter->key(), key) == 0) {
          c.iter->Prev();
        }
      }
    }
    Rebuild(forward);
    // Every other child is now strictly after (or before) the current entry, so unless a child
    // failed, the current child is on top again.
    assert(!Valid() || heap_[0] == current);
  }

  std::vector<Child> children_;
  std::vector<Child*> heap_;
  bool forward_ = true;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
  if (children.empty()) return std::make_unique<EmptyIterator>();
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace cloudkv
