// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// The ObjectStore conformance suite (tests/support/store_conformance.h) over memory://,
// file://, and each wrapper around memory:// with its faults off or its latency virtual.
#include "support/store_conformance.h"

#include <gtest/gtest.h>

#include <atomic>

#include "cloudkv/clock.h"
#include "store/counting_store.h"
#include "store/fault_injecting_store.h"
#include "store/latency_store.h"
#include "store/stores.h"
#include "support/temp_dir.h"

namespace cloudkv {
namespace {

std::shared_ptr<ObjectStore> FreshMemoryStore() {
  static std::atomic<int> counter{0};
  return NewPrivateMemoryStore("conformance-" + std::to_string(counter++));
}

StoreFactory MemoryFactory() {
  return {"memory", [] { return Result<StoreUnderTest>(StoreUnderTest{FreshMemoryStore(), {}}); }};
}

StoreFactory FileFactory(std::string name, std::string query) {
  return {std::move(name), [query]() -> Result<StoreUnderTest> {
            auto dir = std::make_shared<TempDir>("conformance");
            Result<std::shared_ptr<ObjectStore>> store =
                OpenObjectStore("file://" + dir->path() + "/db" + query);
            if (!store.ok()) return store.status();
            return StoreUnderTest{*store, [dir] {}};
          }};
}

StoreFactory FaultsOffFactory() {
  return {"faults_off", [] {
            return Result<StoreUnderTest>(StoreUnderTest{
                std::make_shared<FaultInjectingStore>(FreshMemoryStore(), FaultOptions{}), {}});
          }};
}

StoreFactory LatencyFactory() {
  // The S3 profile on a manual clock: every code path of the simulation, no real sleeping.
  return {"latency_s3_manual_clock", [] {
            return Result<StoreUnderTest>(StoreUnderTest{
                std::make_shared<LatencyStore>(FreshMemoryStore(), LatencyProfile::S3Standard(),
                                               /*seed=*/42, std::make_shared<ManualClock>()),
                {}});
          }};
}

StoreFactory CountingFactory() {
  return {"counting", [] {
            return Result<StoreUnderTest>(
                StoreUnderTest{std::make_shared<CountingStore>(FreshMemoryStore()), {}});
          }};
}

StoreFactory UrlChainFactory() {
  // All wrappers selected through the URL, faults configured at rate zero.
  return {"url_chain", []() -> Result<StoreUnderTest> {
            static std::atomic<int> counter{0};
            Result<std::shared_ptr<ObjectStore>> store =
                OpenObjectStore("memory://chain" + std::to_string(counter++) +
                                "?private=true&count=true&faults=all_error:0&fault_seed=1");
            if (!store.ok()) return store.status();
            return StoreUnderTest{*store, {}};
          }};
}

INSTANTIATE_STORE_CONFORMANCE(Backends, MemoryFactory(), FileFactory("file", ""),
                              FileFactory("file_nofsync", "?fsync=false"),
                              FileFactory("file_no_temp_pool", "?temp_pool=0"));
INSTANTIATE_STORE_CONFORMANCE(Wrappers, FaultsOffFactory(), LatencyFactory(), CountingFactory(),
                              UrlChainFactory());

}  // namespace
}  // namespace cloudkv
