// SPDX-License-Identifier: Apache-2.0
// A tour of the cloudkv API (include/cloudkv/db.h): open, put, get, an atomic batch, a
// snapshot that keeps seeing the past, an ordered scan with bounds, and close.
//
//   build/debug/examples/cloudkv-tour [URL]     (default: a new memory:// database)
//
// Built with the project (examples/CMakeLists.txt) so that CI compiles it; an installed copy
// builds the same way against find_package(cloudkv) or pkg-config (examples/consumer/).
#include <cloudkv/db.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {

// Prints the failure and returns true if `status` is not OK.
bool Failed(const cloudkv::Status& status, const char* what) {
  if (status.ok()) return false;
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "memory://cloudkv-tour";
  auto opened = cloudkv::DB::Open(url, cloudkv::Options());
  if (!opened.ok()) {
    std::fprintf(stderr, "open %s: %s\n", url.c_str(), opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<cloudkv::DB> db = std::move(opened).value();

  // A put returns once the write is durable in the object store.
  if (Failed(db->Put(cloudkv::WriteOptions(), "fruit/apple", "red"), "put")) return 1;
  auto apple = db->Get(cloudkv::ReadOptions(), "fruit/apple");
  if (!apple.ok()) {
    Failed(apple.status(), "get");
    return 1;
  }
  std::printf("apple = %s\n", apple->c_str());

  // A snapshot: reads through it see the database as it was when it was taken.
  cloudkv::ManagedSnapshot before_batch(*db);

  // A batch is applied atomically: every key or none.
  cloudkv::WriteBatch batch;
  batch.Put("fruit/banana", "yellow");
  batch.Put("fruit/cherry", "dark red");
  batch.Delete("fruit/apple");
  if (Failed(db->Write(cloudkv::WriteOptions(), batch), "write")) return 1;

  cloudkv::ReadOptions at_snapshot;
  at_snapshot.snapshot = before_batch.get();
  auto old_apple = db->Get(at_snapshot, "fruit/apple");
  std::printf("apple at the snapshot = %s, now = %s\n",
              old_apple.ok() ? old_apple->c_str() : "(absent)",
              db->Get(cloudkv::ReadOptions(), "fruit/apple").ok() ? "present" : "(absent)");

  // An ordered scan within bounds; errors come through status().
  cloudkv::ReadOptions bounds;
  bounds.lower_bound = "fruit/";
  bounds.upper_bound = "fruit0";  // '0' follows '/': every key starting with "fruit/"
  {
    std::unique_ptr<cloudkv::Iterator> it = db->NewIterator(bounds);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::printf("%.*s = %.*s\n", static_cast<int>(it->key().size()), it->key().data(),
                  static_cast<int>(it->value().size()), it->value().data());
    }
    if (Failed(it->status(), "scan")) return 1;
  }  // iterators and snapshots are released before Close

  before_batch.Reset();
  return Failed(db->Close(), "close") ? 1 : 0;
}
