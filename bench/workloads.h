// SPDX-License-Identifier: Apache-2.0
// The cloudkv-bench workloads (db_bench and YCSB style) and how one is run.
//
// A workload runs `threads` worker threads against an open BenchEngine. Each thread records
// the latency of every operation in its own LatencyHistogram; the results are merged. An
// operation is one call: a put or batch write, a get, a MultiGet, a seek plus its nexts, one
// step of a scan, one YCSB transaction.
//
// Thread-safety: RunWorkload is called from one thread at a time per engine.
#ifndef CLOUDKV_BENCH_WORKLOADS_H_
#define CLOUDKV_BENCH_WORKLOADS_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"
#include "histogram.h"

namespace cloudkv::bench {

struct WorkloadFlags {
  uint64_t num = 100000;  // keys in the key space (and writes of the fill workloads)
  uint64_t reads = 0;     // operations of read/mixed workloads; 0 = num
  size_t key_size = 16;
  size_t value_size = 100;
  int threads = 1;
  double duration_seconds = 0;  // > 0: run each workload this long instead of a fixed count
  int batch_size = 1;           // puts per write call
  int multiget_size = 16;       // keys per MultiGet
  int seek_nexts = 0;           // Next() calls after each seek of seekrandom
  std::string distribution = "zipfian";  // YCSB key chooser: zipfian or uniform
  uint64_t seed = 301;
};

// Names accepted by RunWorkload, in documentation order.
const std::vector<std::string>& WorkloadNames();
bool IsWorkload(std::string_view name);

struct WorkloadResult {
  std::string workload;
  uint64_t ops = 0;    // operations completed (puts count one per key also in batches)
  uint64_t found = 0;  // reads that found their key (read workloads)
  uint64_t reads = 0;  // reads attempted (read workloads)
  double seconds = 0;  // wall time from start to the last thread's end
  LatencyHistogram latency;
  uint64_t bytes_written = 0;  // user key + value bytes written
  uint64_t bytes_read = 0;     // user key + value bytes returned
  RequestCounts requests;      // object-store requests during the workload (cloudkv)
  CacheCounts caches;          // cache activity during the workload (cloudkv)
  // reopen: seconds from the start of the open to the end of the first read; -1 otherwise.
  double first_read_seconds = -1;
  Status status;  // first error, if any (the workload stops at it)
  // Why the workload did nothing, when the engine does not support it (e.g. "compact" before
  // an engine has compaction); status stays OK and ops 0.
  std::string skipped;
};

// State that lives across the workloads of one engine run (YCSB inserts grow the key space).
struct RunState {
  std::atomic<uint64_t> next_insert{0};  // key number of the next YCSB insert
};

// Closes `engine` and opens it again on the same location (the "reopen" workload: whatever
// caches live in the process are gone, a disk cache stays), then reads one key. The result's
// seconds are the open's; first_read_seconds the open's plus the read's.
WorkloadResult RunReopen(std::unique_ptr<BenchEngine>& engine, const EngineConfig& config,
                         int workload_index, const WorkloadFlags& flags);

// Runs `name` (not "reopen") against `engine`. `workload_index` distinguishes the seeds of
// workloads in one invocation (the same index gives every engine the same key sequence).
WorkloadResult RunWorkload(std::string_view name, int workload_index, BenchEngine& engine,
                           const WorkloadFlags& flags, RunState& state);

}  // namespace cloudkv::bench

#endif  // CLOUDKV_BENCH_WORKLOADS_H_
