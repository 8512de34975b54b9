#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SIGKILL of `cloudkv serve` during a write load (redis-benchmark SETs plus clients that
record every acknowledged SET/INCR), then a restart on the same file:// database: every
acknowledged write must be readable."""
import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

import redis

import harness


def writer(port, wid, acked, stop):
    r = redis.Redis(port=port, socket_timeout=30)
    i = 0
    try:
        while not stop.is_set():
            p = r.pipeline(transaction=False)
            keys = ["crash:%d:%d" % (wid, i + j) for j in range(8)]
            for k in keys:
                p.set(k, k)
            p.incr("crash:ctr:%d" % wid)
            res = p.execute()
            acked.extend(keys)
            acked.append(("ctr", wid, res[-1]))
            i += 8
    except (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    url = "file://" + os.path.join(workdir, "db")
    failures = []
    for round_no in range(2):
        srv = harness.start_cloudkv(args.cloudkv, url, workdir)
        bench = subprocess.Popen(["redis-benchmark", "-p", str(srv.port), "-t", "set", "-n",
                                  "10000000", "-r", "100000", "-P", "16", "-c", "10", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop = threading.Event()
        acked = [[] for _ in range(4)]
        threads = [threading.Thread(target=writer, args=(srv.port, w, acked[w], stop))
                   for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(3)
        srv.kill()
        stop.set()
        for t in threads:
            t.join()
        bench.kill()
        bench.wait()
        srv = harness.start_cloudkv(args.cloudkv, url, workdir)
        try:
            r = redis.Redis(port=srv.port)
            total = 0
            for w in range(4):
                counters = [a[2] for a in acked[w] if isinstance(a, tuple)]
                keys = [a for a in acked[w] if isinstance(a, str)]
                total += len(keys)
                for chunk in range(0, len(keys), 500):
                    part = keys[chunk:chunk + 500]
                    got = r.mget(part)
                    for k, v in zip(part, got):
                        if v != k.encode():
                            failures.append("round %d: acknowledged %s lost (%r)" % (round_no, k, v))
                if counters:
                    have = int(r.get("crash:ctr:%d" % w) or 0)
                    if have < counters[-1]:
                        failures.append("round %d: counter %d is %d < acknowledged %d"
                                        % (round_no, w, have, counters[-1]))
            print("round %d: %d acknowledged keys checked" % (round_no, total))
            if total == 0:
                failures.append("round %d: no write was acknowledged" % round_no)
            # Clean up this round's recorded keys so the next round starts fresh.
            r.flushdb()
        finally:
            if srv.stop() != 0:
                failures.append("restarted server did not stop cleanly")
    for f in failures[:20]:
        print("FAIL", f)
    print("%d failure(s)" % len(failures))
    if not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
