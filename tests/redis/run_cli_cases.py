#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""redis-cli scripts (tests/redis/cases/*.redis) with expected outputs (*.expected).

Each script runs through one `redis-cli --no-raw` session against `cloudkv serve` and, when
Debian's redis-server is installed, against a real Redis too: both must print exactly the
expected output, which proves the expected files are Redis's own behaviour.
  run_cli_cases.py --cloudkv BIN [--update]   (--update rewrites *.expected from redis-server)
"""
import argparse
import difflib
import glob
import os
import shutil
import subprocess
import sys

import harness

HERE = os.path.dirname(os.path.abspath(__file__))


def run_script(port, path):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "--no-raw", "-p", str(port)], stdin=f,
                             capture_output=True, timeout=120)
    return out.stdout.decode(errors="replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--db", default="memory://cli-cases")
    args = parser.parse_args()
    workdir = harness.tempdir()
    cases = sorted(glob.glob(os.path.join(HERE, "cases", "*.redis")))
    failures = 0
    redis = harness.start_redis(workdir)
    ckv = harness.start_cloudkv(args.cloudkv, args.db, workdir)
    try:
        for case in cases:
            name = os.path.basename(case)[:-len(".redis")]
            expected_path = case[:-len(".redis")] + ".expected"
            if redis is not None:
                got_redis = run_script(redis.port, case)
                if args.update:
                    with open(expected_path, "w") as f:
                        f.write(got_redis)
            with open(expected_path) as f:
                expected = f.read()
            targets = [("cloudkv", ckv.port)]
            if redis is not None:
                targets.append(("redis-server", redis.port))
            for label, port in targets:
                got = run_script(port, case)
                if got != expected:
                    failures += 1
                    print("FAIL %s on %s:" % (name, label))
                    sys.stdout.writelines(difflib.unified_diff(
                        expected.splitlines(True), got.splitlines(True), "expected", label))
                else:
                    print("ok   %s on %s" % (name, label))
    finally:
        if redis is not None:
            redis.stop()
        rc = ckv.stop()
        if rc != 0:
            print("cloudkv exited with %d:\n%s" % (rc, ckv.output()))
            failures += 1
    if failures == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
