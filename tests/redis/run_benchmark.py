#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""redis-benchmark against `cloudkv serve`: SET, GET, INCR and MSET with pipelining must
complete without errors, and the data must be there afterwards."""
import argparse
import re
import shutil
import subprocess
import sys

import redis

import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    parser.add_argument("--db", default="memory://bench")
    parser.add_argument("-n", default="20000")
    args = parser.parse_args()
    workdir = harness.tempdir()
    srv = harness.start_cloudkv(args.cloudkv, args.db, workdir)
    failures = []
    try:
        out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-t", "set,get,incr,mset",
                              "-n", args.n, "-P", "16", "-q"], capture_output=True, timeout=800)
        text = out.stdout.decode(errors="replace") + out.stderr.decode(errors="replace")
        print(text)
        if out.returncode != 0:
            failures.append("redis-benchmark exit code %d" % out.returncode)
        for test in ["SET", "GET", "INCR", "MSET"]:
            if not re.search(r"(^|\r) ?%s[^:\r\n]*: [0-9.]+ requests per second" % test, text, re.M):
                failures.append("no result for " + test)
        if re.search(r"error", text, re.I):
            failures.append("errors reported")
        r = redis.Redis(port=srv.port)
        if r.get("counter:__rand_int__") != args.n.encode():
            failures.append("INCR count %r" % r.get("counter:__rand_int__"))
    finally:
        if srv.stop() != 0:
            failures.append("server did not stop cleanly")
    for f in failures:
        print("FAIL", f)
    if not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
