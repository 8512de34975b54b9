// SPDX-License-Identifier: Apache-2.0
#include "report.h"

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cinttypes>
#include <fstream>
#include <sstream>

namespace cloudkv::bench {

double OpsPerSecond(const WorkloadResult& r) {
  return r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
}

double RequestsPerOp(const Record& r) {
  if (!r.has_object_store || r.result.ops == 0) return -1;
  return static_cast<double>(r.result.requests.total()) / static_cast<double>(r.result.ops);
}

double DollarsPerMillionOps(const Record& r) {
  if (!r.has_object_store || r.result.ops == 0) return -1;
  return RequestDollars(r.result.requests) * 1e6 / static_cast<double>(r.result.ops);
}

namespace {

std::string Micros(uint64_t nanos) {
  char buf[32];
  double us = static_cast<double>(nanos) / 1000.0;
  if (us < 10) {
    std::snprintf(buf, sizeof(buf), "%.2f", us);
  } else if (us < 1000) {
    std::snprintf(buf, sizeof(buf), "%.1f", us);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", us);
  }
  return buf;
}

std::string Number(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string JsonNumber(double v) {
  if (v < 0) return "null";
  return Number(v, "%.6g");
}

}  // namespace

void PrintLine(std::FILE* out, const Record& r) {
  const WorkloadResult& w = r.result;
  if (!w.skipped.empty()) {
    std::fprintf(out, "%-16s %-8s skipped: %s\n", w.workload.c_str(), r.engine.c_str(),
                 w.skipped.c_str());
    std::fflush(out);
    return;
  }
  if (w.workload == "reopen") {
    std::string reqs;
    if (r.has_object_store) {
      reqs = "  requests " + std::to_string(w.requests.total()) + " (get " +
             std::to_string(w.requests.get) + " list " + std::to_string(w.requests.list) + ")";
    }
    std::fprintf(out, "%-16s %-8s open %.3f s, first read after %.3f s%s%s\n", w.workload.c_str(),
                 r.engine.c_str(), w.seconds, w.first_read_seconds, reqs.c_str(),
                 w.status.ok() ? "" : ("  ERROR " + w.status.ToString()).c_str());
    std::fflush(out);
    return;
  }
  if (w.workload == "flush" || w.workload == "compact") {  // one call: its duration says it all
    std::fprintf(out, "%-16s %-8s %12.2f s%s\n", w.workload.c_str(), r.engine.c_str(), w.seconds,
                 w.status.ok() ? "" : ("  ERROR " + w.status.ToString()).c_str());
    std::fflush(out);
    return;
  }
  std::string extra;
  if (w.reads > 0) {
    extra += " found " + std::to_string(w.found) + "/" + std::to_string(w.reads);
  }
  if (w.bytes_written > 0) extra += Number(w.bytes_written / 1e6 / w.seconds, " %.1f MB/s in");
  if (w.bytes_read > 0) extra += Number(w.bytes_read / 1e6 / w.seconds, " %.1f MB/s out");
  std::string cost = " reqs/op n/a $/Mops n/a";
  if (r.has_object_store) {
    const RequestCounts& c = w.requests;
    cost = " reqs/op " + Number(RequestsPerOp(r), "%.4g") + " (get " + std::to_string(c.get) +
           " put " + std::to_string(c.put) + " list " + std::to_string(c.list) + " head " +
           std::to_string(c.head) + " del " + std::to_string(c.del) + ") $/Mops " +
           Number(DollarsPerMillionOps(r), "%.4g");
  }
  if (r.write_amplification >= 0) extra += Number(r.write_amplification, " w-amp %.2f");
  std::fprintf(out,
               "%-16s %-8s %12.0f ops/s  p50 %s  p99 %s  p99.9 %s  max %s us%s%s  peak-rss %.0f MB"
               "%s\n",
               w.workload.c_str(), r.engine.c_str(), OpsPerSecond(w),
               Micros(w.latency.Percentile(50)).c_str(), Micros(w.latency.Percentile(99)).c_str(),
               Micros(w.latency.Percentile(99.9)).c_str(), Micros(w.latency.max_nanos()).c_str(),
               extra.c_str(), cost.c_str(), r.peak_rss_bytes / 1048576.0,
               w.status.ok() ? "" : ("  ERROR " + w.status.ToString()).c_str());
  std::fflush(out);
}

void PrintSummary(std::FILE* out, const std::vector<Record>& records, int runs) {
  std::fprintf(out, "\n== Summary (%s) ==\n",
               runs > 1 ? (std::to_string(runs) + " runs, median ops/s").c_str() : "1 run");
  std::vector<std::string> workloads;
  for (const Record& r : records) {
    if (std::find(workloads.begin(), workloads.end(), r.result.workload) == workloads.end()) {
      workloads.push_back(r.result.workload);
    }
  }
  for (const std::string& workload : workloads) {
    double cloudkv_ops = -1;
    for (const Record& r : records) {
      if (r.result.workload == workload && r.engine == "cloudkv") {
        cloudkv_ops = OpsPerSecond(r.result);
      }
    }
    for (const Record& r : records) {
      if (r.result.workload != workload) continue;
      if (!r.result.skipped.empty() || workload == "flush" || workload == "compact") {
        std::fprintf(out, "%-16s %-40s %s\n", workload.c_str(), r.engine_label.c_str(),
                     r.result.skipped.empty() ? Number(r.result.seconds, "%12.2f s").c_str()
                                              : ("skipped: " + r.result.skipped).c_str());
        continue;
      }
      std::string ratio;
      if (cloudkv_ops > 0 && r.engine != "cloudkv") {
        ratio = Number(OpsPerSecond(r.result) / cloudkv_ops, "  %.2fx cloudkv");
      }
      std::string all;
      if (r.runs_ops_per_sec.size() > 1) {
        all = "  runs:";
        for (double v : r.runs_ops_per_sec) all += Number(v, " %.0f");
      }
      std::fprintf(out, "%-16s %-40s %12.0f ops/s  p99 %s us%s%s\n", workload.c_str(),
                   r.engine_label.c_str(), OpsPerSecond(r.result),
                   Micros(r.result.latency.Percentile(99)).c_str(), ratio.c_str(), all.c_str());
    }
  }
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += Number(static_cast<unsigned char>(c), "\\u%04x");
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool WriteJson(const std::string& path, const std::vector<Record>& records,
               const std::map<std::string, std::string>& settings, std::string* error) {
  std::ostringstream json;
  json << "[\n";
  for (size_t i = 0; i < records.size(); i++) {
    const Record& r = records[i];
    const WorkloadResult& w = r.result;
    double cloudkv_ops = -1;
    for (const Record& other : records) {
      if (other.engine == "cloudkv" && other.result.workload == w.workload) {
        cloudkv_ops = OpsPerSecond(other.result);
      }
    }
    json << "  {\"engine\": " << JsonString(r.engine)
         << ", \"engine_label\": " << JsonString(r.engine_label)
         << ", \"workload\": " << JsonString(w.workload) << ", \"ops\": " << w.ops
         << ", \"seconds\": " << JsonNumber(w.seconds)
         << ", \"ops_per_sec\": " << JsonNumber(OpsPerSecond(w))
         << ", \"p50_us\": " << JsonNumber(w.latency.Percentile(50) / 1000.0)
         << ", \"p99_us\": " << JsonNumber(w.latency.Percentile(99) / 1000.0)
         << ", \"p999_us\": " << JsonNumber(w.latency.Percentile(99.9) / 1000.0)
         << ", \"max_us\": " << JsonNumber(w.latency.max_nanos() / 1000.0)
         << ", \"mean_us\": " << JsonNumber(w.latency.mean_nanos() / 1000.0)
         << ", \"reads\": " << w.reads << ", \"found\": " << w.found
         << ", \"bytes_written\": " << w.bytes_written << ", \"bytes_read\": " << w.bytes_read;
    if (r.has_object_store) {
      const RequestCounts& c = w.requests;
      json << ", \"requests\": {\"get\": " << c.get << ", \"put\": " << c.put
           << ", \"list\": " << c.list << ", \"head\": " << c.head << ", \"delete\": " << c.del
           << ", \"bytes_in\": " << c.bytes_in << ", \"bytes_out\": " << c.bytes_out << "}";
      const CacheCounts& k = w.caches;
      json << ", \"caches\": {\"block_hits\": " << k.block_hits
           << ", \"block_misses\": " << k.block_misses
           << ", \"block_evictions\": " << k.block_evictions << ", \"disk_hits\": " << k.disk_hits
           << ", \"disk_misses\": " << k.disk_misses
           << ", \"disk_bytes_read\": " << k.disk_bytes_read
           << ", \"disk_evictions\": " << k.disk_evictions << "}";
    } else {
      json << ", \"requests\": null, \"caches\": null";
    }
    json << ", \"first_read_us\": "
         << (w.first_read_seconds >= 0 ? JsonNumber(w.first_read_seconds * 1e6) : "null");
    json << ", \"requests_per_op\": " << JsonNumber(RequestsPerOp(r))
         << ", \"dollars_per_million_ops\": " << JsonNumber(DollarsPerMillionOps(r))
         << ", \"ratio_to_cloudkv\": "
         << (cloudkv_ops > 0 ? JsonNumber(OpsPerSecond(w) / cloudkv_ops) : "null")
         << ", \"peak_rss_bytes\": " << r.peak_rss_bytes << ", \"storage_bytes_written\": "
         << (r.storage_bytes_written >= 0 ? std::to_string(r.storage_bytes_written) : "null")
         << ", \"write_amplification\": "
         << (r.write_amplification >= 0 ? JsonNumber(r.write_amplification) : "null")
         << ", \"peak_rss_scope\": " << JsonString(r.peak_rss_scope)
         << ", \"status\": " << JsonString(w.status.ToString())
         << ", \"skipped\": " << (w.skipped.empty() ? "null" : JsonString(w.skipped))
         << ", \"runs_ops_per_sec\": [";
    for (size_t j = 0; j < r.runs_ops_per_sec.size(); j++) {
      json << (j ? ", " : "") << JsonNumber(r.runs_ops_per_sec[j]);
    }
    json << "], \"settings\": {";
    bool first = true;
    for (const auto& [k, v] : settings) {
      json << (first ? "" : ", ") << JsonString(k) << ": " << v;
      first = false;
    }
    json << "}, \"engine_settings\": {";
    first = true;
    for (const auto& [k, v] : r.engine_settings) {
      json << (first ? "" : ", ") << JsonString(k) << ": " << JsonString(v);
      first = false;
    }
    json << "}}" << (i + 1 < records.size() ? "," : "") << "\n";
  }
  json << "]\n";
  std::ofstream file(path, std::ios::trunc);
  file << json.str();
  file.close();
  if (!file) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

std::string ResetPeakRss() {
  // Give memory freed by the previous engine back to the kernel first; else glibc keeps it
  // mapped and the reset high-water mark starts from the previous engine's heap.
  malloc_trim(0);
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.close();
  return clear ? "engine" : "process";
}

int64_t ProcessStorageWriteBytes() {
  std::ifstream io("/proc/self/io");
  std::string line;
  while (std::getline(io, line)) {
    if (line.starts_with("write_bytes:")) {
      return static_cast<int64_t>(std::strtoull(line.c_str() + 12, nullptr, 10));
    }
  }
  return -1;
}

uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) {
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    }
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace cloudkv::bench
