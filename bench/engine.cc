// SPDX-License-Identifier: Apache-2.0
// Dispatch from engine names to the adapters compiled into this binary.
#include "engine.h"

#include <filesystem>
#include <system_error>

namespace cloudkv::bench {

std::vector<std::string> AvailableEngines() {
  std::vector<std::string> engines;
#ifdef CLOUDKV_BENCH_HAVE_CLOUDKV
  engines.push_back("cloudkv");
#endif
#ifdef CLOUDKV_BENCH_HAVE_ROCKSDB
  engines.push_back("rocksdb");
#endif
#ifdef CLOUDKV_BENCH_HAVE_LEVELDB
  engines.push_back("leveldb");
#endif
  return engines;
}

Result<std::unique_ptr<BenchEngine>> OpenEngine(std::string_view engine, const EngineConfig& config,
                                                bool fresh) {
#ifdef CLOUDKV_BENCH_HAVE_CLOUDKV
  if (engine == "cloudkv") return OpenCloudkvEngine(config, fresh);
#endif
#ifdef CLOUDKV_BENCH_HAVE_ROCKSDB
  if (engine == "rocksdb") return OpenRocksDbEngine(config, fresh);
#endif
#ifdef CLOUDKV_BENCH_HAVE_LEVELDB
  if (engine == "leveldb") return OpenLevelDbEngine(config, fresh);
#endif
  if (engine == "cloudkv" || engine == "rocksdb" || engine == "leveldb") {
    return Status::NotSupported("engine " + std::string(engine) +
                                " is not compiled into this build");
  }
  return Status::InvalidArgument("unknown engine " + std::string(engine) +
                                 " (expected cloudkv, rocksdb or leveldb)");
}

Status RemoveLocalDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("remove " + path + ": " + ec.message());
  return Status::OK();
}

}  // namespace cloudkv::bench
