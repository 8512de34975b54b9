#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CI smoke run of cloudkv-bench (ctest label "bench").

Runs every workload for a moment on tiny sizes against each engine given, then checks that the
JSON output parses and that every record has the documented fields (docs/benchmarks.md). No
timing is asserted.

Usage: bench_smoke.py CLOUDKV_BENCH ENGINES(comma list) WORKDIR
"""
import json
import os
import shutil
import subprocess
import sys

REQUIRED = {
    "engine": str, "engine_label": str, "workload": str, "ops": int, "seconds": (int, float),
    "ops_per_sec": (int, float), "p50_us": (int, float), "p99_us": (int, float),
    "p999_us": (int, float), "max_us": (int, float), "mean_us": (int, float), "reads": int,
    "found": int, "bytes_written": int, "bytes_read": int, "peak_rss_bytes": int,
    "peak_rss_scope": str, "status": str, "runs_ops_per_sec": list, "settings": dict,
    "engine_settings": dict,
}
NULLABLE = ["requests", "requests_per_op", "dollars_per_million_ops", "ratio_to_cloudkv"]
SETTINGS = ["num", "key_size", "value_size", "threads", "durable", "batch_size", "cache_size",
            "bloom_bits", "compression", "block_size", "seed", "distribution", "db"]
WORKLOADS = ["fillseq", "fillrandom", "overwrite", "flush", "readrandom", "readmissing",
             "readseq", "readreverse", "seekrandom", "multireadrandom", "readwhilewriting",
             "ycsba", "ycsbb", "ycsbc", "ycsbd", "ycsbe", "ycsbf", "compact", "deleterandom"]


def fail(msg):
    print("bench_smoke: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    binary, engines, workdir = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    out = os.path.join(workdir, "result.json")
    cmd = [binary, "--engines", ",".join(engines), "--workloads", ",".join(WORKLOADS),
           "--num", "2000", "--reads", "500", "--threads", "2", "--seek_nexts", "3",
           "--batch_size", "4", "--cache_size", str(1 << 20),
           "--db", "file://" + os.path.join(workdir, "cloudkv"),
           "--peer_dir", workdir, "--json", out]
    print("bench_smoke: " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, timeout=500)
    if proc.returncode != 0:
        fail("cloudkv-bench exited with %d" % proc.returncode)
    with open(out) as f:
        records = json.load(f)
    if not isinstance(records, list):
        fail("JSON is not an array")
    seen = set()
    for r in records:
        for field, kind in REQUIRED.items():
            if field not in r:
                fail("record %s/%s lacks %s" % (r.get("engine"), r.get("workload"), field))
            if not isinstance(r[field], kind):
                fail("%s of %s/%s has type %s" % (field, r["engine"], r["workload"],
                                                   type(r[field]).__name__))
        for field in NULLABLE:
            if field not in r:
                fail("record %s/%s lacks %s" % (r["engine"], r["workload"], field))
        for field in SETTINGS:
            if field not in r["settings"]:
                fail("settings of %s/%s lack %s" % (r["engine"], r["workload"], field))
        if r["status"] != "OK":
            fail("%s/%s: %s" % (r["engine"], r["workload"], r["status"]))
        if "skipped" not in r:
            fail("record %s/%s lacks skipped" % (r["engine"], r["workload"]))
        if r["skipped"] is not None:
            # Only maintenance calls may be unsupported (e.g. compact before compaction lands).
            if r["workload"] not in ("flush", "compact"):
                fail("%s/%s skipped: %s" % (r["engine"], r["workload"], r["skipped"]))
            print("bench_smoke: note: %s/%s skipped: %s" % (r["engine"], r["workload"], r["skipped"]))
        elif r["ops"] <= 0:
            fail("%s/%s did no operations" % (r["engine"], r["workload"]))
        if r["engine"] == "cloudkv":
            # A value, not "name=value" (it printed durable=durable=false once).
            if r["engine_settings"].get("durable") not in ("true", "false"):
                fail("cloudkv engine_settings durable=%r" % r["engine_settings"].get("durable"))
            if not isinstance(r["requests"], dict) or (r["requests_per_op"] is None and r["ops"] > 0):
                fail("cloudkv record %s lacks request counts" % r["workload"])
        seen.add((r["engine"], r["workload"]))
    for engine in engines:
        for workload in WORKLOADS:
            if (engine, workload) not in seen:
                fail("no record for %s/%s" % (engine, workload))
        reads = [r for r in records if r["engine"] == engine and r["workload"] == "readrandom"]
        if reads[0]["found"] == 0:
            fail("%s readrandom found nothing after the fills" % engine)
    print("bench_smoke: OK, %d records" % len(records))


if __name__ == "__main__":
    main()
