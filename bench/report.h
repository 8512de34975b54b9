// SPDX-License-Identifier: Apache-2.0
// Reporting for cloudkv-bench: one text line per (workload, engine) as results arrive, a
// summary with ratios to cloudkv at the end, and the JSON file (schema: docs/benchmarks.md).
#ifndef CLOUDKV_BENCH_REPORT_H_
#define CLOUDKV_BENCH_REPORT_H_

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "workloads.h"

namespace cloudkv::bench {

// One (engine, workload) outcome; with several runs, the run with the median ops/s.
struct Record {
  std::string engine;
  std::string engine_label;
  bool has_object_store = false;
  std::map<std::string, std::string> engine_settings;
  WorkloadResult result;
  std::vector<double> runs_ops_per_sec;  // every run, in run order
  uint64_t peak_rss_bytes = 0;
  std::string peak_rss_scope;  // "engine" (peak reset at engine open) or "process"
  // Bytes the process sent to the storage layer during the workload (/proc/self/io
  // write_bytes: WAL, SSTs, compaction, manifests of every engine alike), and the write
  // amplification since the engine was opened: storage bytes / user key+value bytes, both
  // cumulative (background compaction of earlier workloads counts where it happens).
  // Negative when unknown.
  int64_t storage_bytes_written = -1;
  double write_amplification = -1;
};

double OpsPerSecond(const WorkloadResult& r);
// Requests per operation and $ per million operations; negative when not applicable.
double RequestsPerOp(const Record& r);
double DollarsPerMillionOps(const Record& r);

// "fillrandom  rocksdb  412,345 ops/s  p50 1.9 us ..." to `out`.
void PrintLine(std::FILE* out, const Record& r);
// Per workload: every engine's median line and its ratio to cloudkv.
void PrintSummary(std::FILE* out, const std::vector<Record>& records, int runs);

// Writes the JSON array of records. `settings` are the shared flags, as JSON values already
// encoded (strings quoted).
bool WriteJson(const std::string& path, const std::vector<Record>& records,
               const std::map<std::string, std::string>& settings, std::string* error);

// Peak resident set size: returns freed heap to the kernel (malloc_trim), resets the kernel's
// high-water mark if it can (Linux 4.0+ /proc/self/clear_refs "5") and says which scope the
// next reading has.
std::string ResetPeakRss();
uint64_t PeakRssBytes();
// write_bytes of /proc/self/io, or -1 where the kernel does not account I/O per process.
int64_t ProcessStorageWriteBytes();

std::string JsonString(const std::string& s);

}  // namespace cloudkv::bench

#endif  // CLOUDKV_BENCH_REPORT_H_
