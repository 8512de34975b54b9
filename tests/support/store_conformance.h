// SPDX-License-Identifier: Apache-2.0
// The ObjectStore conformance suite: one value-parameterized gtest suite that every backend and
// wrapper must pass (object_store.h is the contract). A backend joins from its own test file
// with a factory and one line at namespace scope inside namespace cloudkv:
//
//   StoreFactory MyFactory() {
//     return {"mine", [] { return Result<StoreUnderTest>(StoreUnderTest{OpenMine(), {}}); }};
//   }
//   INSTANTIATE_STORE_CONFORMANCE(Mine, MyFactory());
//
// Several factories may be listed: INSTANTIATE_STORE_CONFORMANCE(All, F1(), F2()).
#ifndef CLOUDKV_TESTS_SUPPORT_STORE_CONFORMANCE_H_
#define CLOUDKV_TESTS_SUPPORT_STORE_CONFORMANCE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "cloudkv/object_store.h"

namespace cloudkv {

// A store for one test, and what to do once the test is done with it.
struct StoreUnderTest {
  std::shared_ptr<ObjectStore> store;
  std::function<void()> cleanup;  // may be empty; runs after the store is released
};

struct StoreFactory {
  // The parameter's name in test names: letters, digits and '_' only.
  std::string name;
  // Returns a fresh, empty store (a new directory, a new S3 prefix...). A non-OK status fails
  // the test with that message, or skips it if the backend is not `required`.
  std::function<Result<StoreUnderTest>()> make;
  // Whether the backend must open. Only a backend whose server is not configured may be
  // optional: S3 when S3_ENDPOINT is unset outside CI (a developer running ctest by hand without
  // the server), whose tests then skip with a loud message.
  bool required = true;
  // Size of the concurrency tests; lower them for slow remote stores.
  int race_threads = 8;
  int cas_increments_per_thread = 25;
  // Whether every put makes a new etag even for identical content. S3's ETag is the MD5 of the
  // content, so re-putting the same bytes keeps the etag (the contract only promises that
  // etags compare equal for equal versions; engine objects carry nonces).
  bool etag_changes_with_identical_content = true;
  // Size of the large-object test (at least 64 MiB unless a backend cannot).
  uint64_t large_object_bytes = uint64_t{64} << 20;

  friend std::ostream& operator<<(std::ostream& os, const StoreFactory& f) { return os << f.name; }
};

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;
  ObjectStore& store() { return *store_; }

  std::shared_ptr<ObjectStore> store_;

 private:
  std::function<void()> cleanup_;
};

// Names test parameters after StoreFactory::name.
std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

// Referenced by INSTANTIATE_STORE_CONFORMANCE so the linker keeps the suite's tests, which live
// in the test-support static library.
int StoreConformanceAnchor();

}  // namespace cloudkv

#define INSTANTIATE_STORE_CONFORMANCE(prefix, ...)                                       \
  [[maybe_unused]] static const int prefix##_store_conformance_anchor =                  \
      ::cloudkv::StoreConformanceAnchor();                                               \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreConformanceTest, ::testing::Values(__VA_ARGS__), \
                           ::cloudkv::StoreFactoryName)

#endif  // CLOUDKV_TESTS_SUPPORT_STORE_CONFORMANCE_H_
