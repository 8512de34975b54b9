// SPDX-License-Identifier: Apache-2.0
// cloudkv-bench: db_bench/YCSB-style benchmark of cloudkv against RocksDB and LevelDB.
//
//   cloudkv-bench --engines cloudkv,rocksdb,leveldb --workloads fillrandom,readrandom
//                 --num 1000000 --json out.json
//
// Every engine gets the same settings (cache, bloom bits, compression, block size, durability)
// and the same key sequences; the workloads run in order on one database per engine. Engines
// run one after the other, each alone on the machine (the previous one is closed first), and
// --runs repeats the whole sequence to report medians. See docs/benchmarks.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine.h"
#include "report.h"
#include "workloads.h"

namespace cloudkv::bench {
namespace {

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct Flags {
  WorkloadFlags workload;
  std::string workloads = "fillrandom,readrandom";
  std::string engines = "cloudkv,rocksdb,leveldb";
  std::string db = "file:///tmp/cloudkv-bench/cloudkv";
  std::string peer_dir = "/tmp/cloudkv-bench";
  std::string json;
  EngineConfig config;
  bool use_existing_db = false;
  int runs = 1;
};

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app{"cloudkv-bench: db_bench/YCSB-style benchmark of cloudkv, RocksDB and LevelDB"};
  app.add_option(
         "--workloads", f.workloads,
         "Comma list run in order on the same DB: fillseq, fillrandom, overwrite, "
         "readrandom, readmissing, readseq, readreverse, seekrandom, multireadrandom, "
         "readwhilewriting, deleterandom, ycsba..ycsbf, flush, compact, reopen (close, drop "
         "the memory caches, open again, read one key)")
      ->capture_default_str();
  app.add_option("--engines", f.engines, "Comma list of cloudkv, rocksdb, leveldb")
      ->capture_default_str();
  app.add_option("--num", f.workload.num, "Keys in the key space; writes of the fill workloads")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--reads", f.workload.reads, "Operations of read/mixed workloads (0 = --num)")
      ->capture_default_str();
  app.add_option("--key_size", f.workload.key_size, "Key bytes (zero-padded decimal)")
      ->capture_default_str()
      ->check(CLI::Range(8, 1024));
  app.add_option("--value_size", f.workload.value_size, "Value bytes")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  app.add_option("--threads", f.workload.threads, "Worker threads per workload")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--duration", f.workload.duration_seconds,
                 "Seconds per workload (0 = run the operation count)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--batch_size", f.workload.batch_size, "Puts per write call (fill workloads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--multiget_size", f.workload.multiget_size, "Keys per MultiGet")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--seek_nexts", f.workload.seek_nexts, "Next() calls after each seek")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_option("--distribution", f.workload.distribution, "YCSB key chooser")
      ->capture_default_str()
      ->check(CLI::IsMember({"zipfian", "uniform"}));
  app.add_option("--seed", f.workload.seed, "Seed of keys and values")->capture_default_str();
  app.add_flag("--durable,!--no-durable", f.config.durable,
               "Writes return once durable (cloudkv durable=true, RocksDB/LevelDB sync=true)")
      ->capture_default_str();
  app.add_option("--cache_size", f.config.block_cache_bytes, "Block cache bytes, every engine")
      ->capture_default_str();
  app.add_option("--bloom_bits", f.config.bloom_bits_per_key, "Bloom bits per key (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  app.add_option("--compression", f.config.compression,
                 "none, lz4, zstd or snappy (engines without it use their closest codec)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "lz4", "zstd", "snappy"}));
  app.add_option("--block_size", f.config.block_size, "SST block bytes")->capture_default_str();
  app.add_option("--write_buffer_size", f.config.write_buffer_bytes, "Memtable bytes")
      ->capture_default_str();
  app.add_option("--disk_cache_dir", f.config.disk_cache_dir,
                 "cloudkv's local disk cache directory (empty = none)")
      ->capture_default_str();
  app.add_option("--disk_cache_bytes", f.config.disk_cache_bytes, "cloudkv's disk cache bound")
      ->capture_default_str();
  app.add_option("--db", f.db, "cloudkv URL (file://, memory://, s3://, ?simulate=s3 ...)")
      ->capture_default_str();
  app.add_option("--peer_dir", f.peer_dir, "Directory for the RocksDB and LevelDB databases")
      ->capture_default_str();
  app.add_flag("--use_existing_db", f.use_existing_db, "Do not wipe the databases first");
  app.add_option("--runs", f.runs, "Repeat everything this often; report the median")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--json", f.json, "Write the results as a JSON array to this file");
  bool print_engines = false;
  app.add_flag("--print_engines", print_engines, "Print the engines of this build and exit");
  CLI11_PARSE(app, argc, argv);
  if (print_engines) {
    std::string list;
    for (const std::string& e : AvailableEngines()) list += (list.empty() ? "" : ",") + e;
    std::printf("%s\n", list.c_str());
    return 0;
  }

  std::vector<std::string> workloads = SplitCommas(f.workloads);
  std::vector<std::string> engines = SplitCommas(f.engines);
  for (const std::string& w : workloads) {
    if (!IsWorkload(w)) {
      std::fprintf(stderr, "cloudkv-bench: unknown workload %s\n", w.c_str());
      return 2;
    }
  }
  std::vector<std::string> available = AvailableEngines();
  for (const std::string& e : engines) {
    if (std::find(available.begin(), available.end(), e) == available.end()) {
      std::string list;
      for (const auto& a : available) list += " " + a;
      std::fprintf(stderr, "cloudkv-bench: engine %s is not available (this build has:%s)\n",
                   e.c_str(), list.c_str());
      return 2;
    }
  }
  if (workloads.empty() || engines.empty()) {
    std::fprintf(stderr, "cloudkv-bench: nothing to run\n");
    return 2;
  }

  const WorkloadFlags& wf = f.workload;
  std::map<std::string, std::string> settings = {
      {"num", std::to_string(wf.num)},
      {"reads", std::to_string(wf.reads > 0 ? wf.reads : wf.num)},
      {"key_size", std::to_string(wf.key_size)},
      {"value_size", std::to_string(wf.value_size)},
      {"threads", std::to_string(wf.threads)},
      {"duration", std::to_string(wf.duration_seconds)},
      {"batch_size", std::to_string(wf.batch_size)},
      {"multiget_size", std::to_string(wf.multiget_size)},
      {"seek_nexts", std::to_string(wf.seek_nexts)},
      {"distribution", JsonString(wf.distribution)},
      {"seed", std::to_string(wf.seed)},
      {"durable", f.config.durable ? "true" : "false"},
      {"cache_size", std::to_string(f.config.block_cache_bytes)},
      {"bloom_bits", std::to_string(f.config.bloom_bits_per_key)},
      {"compression", JsonString(f.config.compression)},
      {"block_size", std::to_string(f.config.block_size)},
      {"write_buffer_size", std::to_string(f.config.write_buffer_bytes)},
      {"disk_cache_dir", JsonString(f.config.disk_cache_dir)},
      {"disk_cache_bytes", std::to_string(f.config.disk_cache_bytes)},
      {"db", JsonString(f.db)},
      {"runs", std::to_string(f.runs)},
      {"workloads", JsonString(f.workloads)}};
  std::fprintf(stdout,
               "cloudkv-bench: num=%llu key=%zu value=%zu threads=%d durable=%s "
               "cache=%zu bloom_bits=%d compression=%s block=%zu runs=%d\n",
               static_cast<unsigned long long>(wf.num), wf.key_size, wf.value_size, wf.threads,
               f.config.durable ? "true" : "false", f.config.block_cache_bytes,
               f.config.bloom_bits_per_key, f.config.compression.c_str(), f.config.block_size,
               f.runs);

  // results[engine][workload index] = one Record per run.
  std::map<std::string, std::vector<std::vector<Record>>> results;
  int exit_code = 0;
  for (int run = 0; run < f.runs; run++) {
    for (const std::string& engine_name : engines) {
      EngineConfig config = f.config;
      config.location = engine_name == "cloudkv" ? f.db : f.peer_dir + "/" + engine_name;
      std::string rss_scope = ResetPeakRss();
      Result<std::unique_ptr<BenchEngine>> engine =
          OpenEngine(engine_name, config, !f.use_existing_db);
      if (!engine.ok()) {
        std::fprintf(stderr, "cloudkv-bench: open %s at %s: %s\n", engine_name.c_str(),
                     config.location.c_str(), engine.status().ToString().c_str());
        return 1;
      }
      std::string described;
      for (const auto& [k, v] : (*engine)->Describe()) described += " " + k + "=" + v;
      std::fprintf(stdout, "-- %s (run %d):%s\n", (*engine)->label().c_str(), run + 1,
                   described.c_str());
      auto& per_workload = results[engine_name];
      per_workload.resize(workloads.size());
      RunState state;
      // Only engines writing to this machine's file system show up in /proc/self/io: cloudkv on
      // s3:// or memory:// writes elsewhere (or nowhere), so it gets no write amplification.
      const bool local_files = engine_name != "cloudkv" || config.location.starts_with("file://");
      const int64_t io_at_open = local_files ? ProcessStorageWriteBytes() : -1;
      int64_t io_before = io_at_open;
      uint64_t user_bytes_total = 0;
      for (size_t i = 0; i < workloads.size(); i++) {
        Record record;
        record.engine = engine_name;
        record.engine_label = (*engine)->label();
        record.has_object_store = (*engine)->has_object_store();
        record.engine_settings = (*engine)->Describe();
        if (workloads[i] == "reopen") {
          record.result = RunReopen(*engine, config, static_cast<int>(i), wf);
          if (*engine == nullptr) {  // the close or the open failed: nothing left to run on
            PrintLine(stdout, record);
            per_workload[i].push_back(std::move(record));
            exit_code = 1;
            break;
          }
        } else {
          record.result = RunWorkload(workloads[i], static_cast<int>(i), **engine, wf, state);
        }
        record.peak_rss_bytes = PeakRssBytes();
        record.peak_rss_scope = rss_scope;
        user_bytes_total += record.result.bytes_written;
        if (const int64_t io_now = ProcessStorageWriteBytes(); io_at_open >= 0 && io_now >= 0) {
          record.storage_bytes_written = io_now - io_before;
          io_before = io_now;
          if (user_bytes_total > 0) {
            record.write_amplification =
                static_cast<double>(io_now - io_at_open) / static_cast<double>(user_bytes_total);
          }
        }
        PrintLine(stdout, record);
        bool failed = !record.result.status.ok();
        per_workload[i].push_back(std::move(record));
        if (failed) {
          exit_code = 1;
          break;
        }
      }
      if (*engine == nullptr) continue;
      Status closed = (*engine)->Close();
      if (!closed.ok()) {
        std::fprintf(stderr, "cloudkv-bench: close %s: %s\n", engine_name.c_str(),
                     closed.ToString().c_str());
        exit_code = 1;
      }
    }
  }

  // Median run per (engine, workload), in workload-major order.
  std::vector<Record> summary;
  for (size_t i = 0; i < workloads.size(); i++) {
    for (const std::string& engine_name : engines) {
      std::vector<Record>& runs = results[engine_name][i];
      if (runs.empty()) continue;
      std::vector<double> ops;
      for (const Record& r : runs) ops.push_back(OpsPerSecond(r.result));
      std::vector<size_t> order(runs.size());
      for (size_t j = 0; j < order.size(); j++) order[j] = j;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ops[a] < ops[b]; });
      Record median = runs[order[(order.size() - 1) / 2]];
      median.runs_ops_per_sec = ops;
      summary.push_back(std::move(median));
    }
  }
  PrintSummary(stdout, summary, f.runs);
  if (!f.json.empty()) {
    std::string error;
    if (!WriteJson(f.json, summary, settings, &error)) {
      std::fprintf(stderr, "cloudkv-bench: %s\n", error.c_str());
      return 1;
    }
  }
  return exit_code;
}

}  // namespace
}  // namespace cloudkv::bench

int main(int argc, char** argv) { return cloudkv::bench::Main(argc, argv); }
