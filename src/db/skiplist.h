// SPDX-License-Identifier: Apache-2.0
// SkipList: an ordered set of keys kept in an Arena, with one writer and any number of
// lock-free concurrent readers.
//
// Concurrency contract:
// - Insert needs external synchronization: at most one thread inserts at a time.
// - Readers (Contains, Iterator) need no lock and may run concurrently with the inserter. A
//   reader sees every key whose Insert finished before the read started, and possibly some
//   inserted concurrently; it never sees a partly linked node.
// - Nodes are never removed; the list and its keys live until the Arena is destroyed, which
//   must happen after every reader is gone.
//
// How readers stay safe without a lock: a node is fully built (key and forward pointers set)
// before it is published by a release-store into its predecessor's forward pointer; readers
// follow forward pointers with acquire-loads, so they observe a node's contents once they can
// reach it. The list height is a relaxed hint: a reader that sees a stale height just starts
// lower, and one that sees a new height finds null (or published) head pointers there.
//
// Key must be cheap to copy (a pointer or an integer). Comparator: `int operator()(const Key&,
// const Key&) const` returning <0, 0, >0.
#ifndef CLOUDKV_DB_SKIPLIST_H_
#define CLOUDKV_DB_SKIPLIST_H_

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>

#include "db/arena.h"

namespace cloudkv {

template <typename Key, class Comparator>
class SkipList {
 private:
  struct Node;

 public:
  static constexpr int kMaxHeight = 12;
  // Each level holds about 1/kBranching of the nodes of the level below.
  static constexpr uint32_t kBranching = 4;

  // `arena` must outlive the list.
  SkipList(Comparator compare, Arena* arena)
      : compare_(compare), arena_(arena), head_(NewNode(Key(), kMaxHeight, 0)) {
    for (int i = 0; i < kMaxHeight; i++) head_->RelaxedSetNext(i, nullptr);
  }
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // Inserts key. REQUIRES: no key comparing equal is in the list; no concurrent Insert.
  void Insert(const Key& key) {
    InsertWithPayload(0, [&key](char*) { return key; });
  }

  // Allocates `payload_bytes` of arena memory right behind a new node (so the node and its
  // payload usually share a cache line), calls `make_key(payload)` to fill the payload and
  // produce the node's key, and inserts that key. make_key returns Key.
  // REQUIRES: as for Insert.
  template <typename MakeKey>
  void InsertWithPayload(size_t payload_bytes, MakeKey&& make_key) {
    const int height = RandomHeight();
    Node* node = NewNode(Key(), height, payload_bytes);
    node->key = make_key(payload_bytes > 0 ? node->Payload(height) : nullptr);

    Node* prev[kMaxHeight];
    Node* next = FindGreaterOrEqual(node->key, prev);
    assert(next == nullptr || compare_(node->key, next->key) != 0);
    (void)next;
    const int old_height = max_height_.load(std::memory_order_relaxed);
    if (height > old_height) {
      for (int i = old_height; i < height; i++) prev[i] = head_;
      // Readers that see the new height before the node is linked find nullptr in the head at
      // the new levels and move down: harmless.
      max_height_.store(height, std::memory_order_relaxed);
    }
    for (int i = 0; i < height; i++) {
      // The node is not reachable yet, so plain stores suffice for its own pointers; the
      // release-store into prev publishes it (with its key and payload) to readers.
      node->RelaxedSetNext(i, prev[i]->RelaxedNext(i));
      prev[i]->SetNext(i, node);
    }
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  bool Contains(const Key& key) const {
    Node* x = FindGreaterOrEqual(key, nullptr);
    return x != nullptr && compare_(key, x->key) == 0;
  }

  // Number of keys inserted (lock-free; may lag a concurrent insert).
  size_t Count() const { return count_.load(std::memory_order_relaxed); }

  // A cursor over the list. Not thread-safe itself; many iterators may run concurrently with
  // the inserter. Keys inserted after the iterator was positioned may or may not be seen.
  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list) {}

    bool Valid() const { return node_ != nullptr; }
    // REQUIRES: Valid().
    const Key& key() const {
      assert(Valid());
      return node_->key;
    }
    // REQUIRES: Valid().
    void Next() {
      assert(Valid());
      node_ = node_->Next(0);
    }
    // REQUIRES: Valid(). Costs a search (O(log n)): nodes have no back pointers.
    void Prev() {
      assert(Valid());
      node_ = list_->FindLessThan(node_->key);
      if (node_ == list_->head_) node_ = nullptr;
    }
    // First key >= target.
    void Seek(const Key& target) { node_ = list_->FindGreaterOrEqual(target, nullptr); }
    // Last key <= target.
    void SeekForPrev(const Key& target) {
      node_ = list_->FindLessOrEqual(target);
      if (node_ == list_->head_) node_ = nullptr;
    }
    void SeekToFirst() { node_ = list_->head_->Next(0); }
    void SeekToLast() {
      node_ = list_->FindLast();
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    const SkipList* list_;
    Node* node_ = nullptr;
  };

 private:
  struct Node {
    explicit Node(const Key& k) : key(k) {}

    Node* Next(int level) {
      assert(level >= 0);
      return next_[level].load(std::memory_order_acquire);
    }
    void SetNext(int level, Node* x) {
      assert(level >= 0);
      next_[level].store(x, std::memory_order_release);
    }
    Node* RelaxedNext(int level) { return next_[level].load(std::memory_order_relaxed); }
    void RelaxedSetNext(int level, Node* x) { next_[level].store(x, std::memory_order_relaxed); }
    char* Payload(int height) { return reinterpret_cast<char*>(&next_[height]); }

    Key key;
    // The node's forward pointers: `height` of them; the arena allocation extends past the
    // declared array (a trailing array, the usual variable-length node layout).
    std::atomic<Node*> next_[1];
  };

  static size_t NodeBytes(int height) {
    return sizeof(Node) + sizeof(std::atomic<Node*>) * static_cast<size_t>(height - 1);
  }

  Node* NewNode(const Key& key, int height, size_t payload_bytes) {
    char* mem = arena_->AllocateAligned(NodeBytes(height) + payload_bytes);
    Node* node = new (mem) Node(key);
    for (int i = 1; i < height; i++) new (&node->next_[i]) std::atomic<Node*>(nullptr);
    return node;
  }

  int RandomHeight() {
    // xorshift64: only the (single) inserter calls this.
    int height = 1;
    while (height < kMaxHeight) {
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      if ((rng_ % kBranching) != 0) break;
      height++;
    }
    return height;
  }

  // First node with key >= `key`, or nullptr. If prev is not null, fills prev[level] with the
  // last node < key at every level below the current height.
  Node* FindGreaterOrEqual(const Key& key, Node** prev) const {
    Node* x = head_;
    int level = max_height_.load(std::memory_order_relaxed) - 1;
    Node* known_not_less = nullptr;  // avoids comparing the same node again one level down
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && next != known_not_less && compare_(next->key, key) < 0) {
        x = next;
      } else {
        if (prev != nullptr) prev[level] = x;
        if (level == 0) return next;
        known_not_less = next;
        level--;
      }
    }
  }

  // Last node with key < `key`, or head_.
  Node* FindLessThan(const Key& key) const {
    Node* x = head_;
    int level = max_height_.load(std::memory_order_relaxed) - 1;
    Node* known_not_less = nullptr;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && next != known_not_less && compare_(next->key, key) < 0) {
        x = next;
      } else {
        if (level == 0) return x;
        known_not_less = next;
        level--;
      }
    }
  }

  // Last node with key <= `key`, or head_.
  Node* FindLessOrEqual(const Key& key) const {
    Node* x = head_;
    int level = max_height_.load(std::memory_order_relaxed) - 1;
    Node* known_greater = nullptr;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && next != known_greater && compare_(next->key, key) <= 0) {
        x = next;
      } else {
        if (level == 0) return x;
        known_greater = next;
        level--;
      }
    }
  }

  // Last node, or head_ if the list is empty.
  Node* FindLast() const {
    Node* x = head_;
    int level = max_height_.load(std::memory_order_relaxed) - 1;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr) {
        x = next;
      } else {
        if (level == 0) return x;
        level--;
      }
    }
  }

  // Constant after construction.
  const Comparator compare_;
  Arena* const arena_;
  Node* const head_;

  // Written by the inserter only; read by everyone.
  std::atomic<int> max_height_{1};
  std::atomic<size_t> count_{0};
  // Inserter only.
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace cloudkv

#endif  // CLOUDKV_DB_SKIPLIST_H_
