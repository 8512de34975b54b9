#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile client against `cloudkv serve` (issue 21, item 6). Well-behaved clients write and
read their own keys, first alone, then while hostile processes send random bytes, malformed
RESP frames, huge declared lengths, half-sent commands, slow drips, and hold thousands of idle
connections. The server must stay up, its RSS (VmRSS from /proc/<pid>/status) must stay
bounded, and every well-behaved client's data must be intact. The p99 latency of the
well-behaved clients with and without the hostile load is printed, not asserted (timing belongs
in benchmarks). Prints its seed; CLOUDKV_SEED repeats a run.

    python3 tests/redis/run_hostile.py --cloudkv build/debug/cloudkv [--seconds 10]
        [--idle 3000]
"""
import argparse
import multiprocessing
import os
import random
import resource
import socket
import sys
import threading
import time

import redis

import harness

check = harness.Checks(verbose=True)

GOOD_CLIENTS = 4
RSS_BOUND_KB = 1536 * 1024  # the debug (ASan) build's RSS must stay below 1.5 GiB


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def good_client(port, index, seconds, phase, out):
    """Writes and reads back its own keys for `seconds`; records latencies and what it wrote."""
    r = redis.Redis(port=port, socket_timeout=60)
    rng = random.Random(index * 7919 + len(phase))
    latencies, written, errors = [], {}, []
    deadline = time.time() + seconds
    i = 0
    while time.time() < deadline:
        key = "good:%s:%d:%d" % (phase, index, i)
        value = ("%d-" % i + "v" * rng.randint(1, 2000)).encode()
        try:
            start = time.perf_counter()
            r.set(key, value)
            got = r.get(key)
            latencies.append(time.perf_counter() - start)
            if got != value:
                errors.append("read %r back as %r" % (key, got[:40] if got else got))
            written[key] = value
        except Exception as e:  # noqa: BLE001 - every failure of a good client is a finding
            errors.append("%s: %s" % (key, e))
        i += 1
    out.append((latencies, written, errors))


def run_good_clients(port, seconds, phase):
    results = []
    threads = [threading.Thread(target=good_client, args=(port, i, seconds, phase, results))
               for i in range(GOOD_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = sorted(x for r in results for x in r[0])
    written = {}
    errors = []
    for r in results:
        written.update(r[1])
        errors.extend(r[2])
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    return p50, p99, len(latencies), written, errors


def malformed_frame(rng):
    kinds = [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))),
        lambda: b"*%d\r\n" % rng.choice([-5, 0, 2**31, 2**63 - 1, 10**30]),
        lambda: b"*2\r\n$%d\r\n" % rng.choice([-3, 536870912, 536870913, 2**62]),
        lambda: b"*abc\r\n",
        lambda: b"*1\r\n$3\r\nabcde\r\n",  # bulk not terminated by CRLF
        lambda: b"*3\r\n$3\r\nSET\r\n$1\r\nk",  # half-sent, then silence
        lambda: b"\"unbalanced quote\r\n",
        lambda: b"SET " + b"x" * 70000 + b"\r\n",  # inline line over 64 KiB
        lambda: b"*1\r\n" + b"$" + b"9" * 40 + b"\r\n",
        lambda: b"*100000\r\n" + b"$1\r\nx\r\n" * rng.randint(1, 5000),  # half a huge command
        lambda: b"*2\r\n$4\r\nPING\r\n$100000000\r\n" + b"y" * rng.randint(0, 1 << 20),
    ]
    return rng.choice(kinds)()


def hostile_frames(port, seconds, seed):
    rng = random.Random(seed)
    deadline = time.time() + seconds
    held = []
    while time.time() < deadline:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(malformed_frame(rng))
            if rng.random() < 0.3:
                held.append(s)  # half-sent commands stay open
                if len(held) > 200:
                    held.pop(0).close()
            else:
                s.close()
        except OSError:
            time.sleep(0.01)


def hostile_idle(port, count, seconds):
    held = []
    for _ in range(count):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    print("hostile: holding %d idle connections" % len(held), flush=True)
    time.sleep(seconds)
    for s in held:
        s.close()


def hostile_drip(port, seconds, seed):
    """Slow clients: a huge declared bulk, then one byte at a time; and a never-reading client
    that pipelines GETs of a large value."""
    rng = random.Random(seed)
    drips = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\ndrip\r\n$400000000\r\n")
        drips.append(s)
    reader = socket.create_connection(("127.0.0.1", port), timeout=5)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    big = b"*3\r\n$3\r\nSET\r\n$7\r\nbigdrip\r\n$1048576\r\n" + b"b" * 1048576 + b"\r\n"
    reader.sendall(big + b"*2\r\n$3\r\nGET\r\n$7\r\nbigdrip\r\n" * 300)
    deadline = time.time() + seconds
    while time.time() < deadline:
        for s in drips:
            try:
                s.send(bytes([rng.getrandbits(8)]))
            except OSError:
                pass
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--idle", type=int, default=3000)
    args = parser.parse_args()
    seed = int(os.environ.get("CLOUDKV_SEED", str(random.randrange(1 << 30))))
    print("seed", seed)
    # Thousands of idle connections need as many descriptors here and in the server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + 1000
    if soft < want:
        new_soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        soft = new_soft
    idle = min(args.idle, soft - 1000)
    if idle < args.idle:
        print("open-file limit %d: scaled idle connections down to %d" % (soft, idle))
    workdir = harness.tempdir()
    srv = harness.start_cloudkv(args.cloudkv, "file://" + os.path.join(workdir, "db"), workdir,
                                ["--maxclients", str(idle + 600), "--write-timeout", "5",
                                 "--client-query-buffer-limit", str(64 << 20)])
    pid = srv.proc.pid
    try:
        base_rss = rss_kb(pid)
        p50_alone, p99_alone, n_alone, written_alone, errors = run_good_clients(
            srv.port, args.seconds, "alone")
        check(not errors, "well-behaved clients alone: no errors %r" % errors[:3])
        rss_alone = rss_kb(pid)

        procs = [multiprocessing.Process(target=hostile_idle, args=(srv.port, idle,
                                                                    args.seconds + 4)),
                 multiprocessing.Process(target=hostile_drip, args=(srv.port, args.seconds + 4,
                                                                    seed + 1))]
        procs += [multiprocessing.Process(target=hostile_frames,
                                          args=(srv.port, args.seconds + 4, seed + 10 + i))
                  for i in range(2)]
        for p in procs:
            p.start()
        max_rss = [rss_alone]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                max_rss[0] = max(max_rss[0], rss_kb(pid))
                time.sleep(0.1)
        sampler = threading.Thread(target=sample)
        sampler.start()
        time.sleep(2)  # let the idle connections and drips build up
        p50_hostile, p99_hostile, n_hostile, written_hostile, errors = run_good_clients(
            srv.port, args.seconds, "hostile")
        check(not errors, "well-behaved clients under attack: no errors %r" % errors[:3])
        for p in procs:
            p.join(timeout=60)
        stop.set()
        sampler.join()
        check(srv.proc.poll() is None, "server still running")
        r = redis.Redis(port=srv.port, socket_timeout=60)
        bad = 0
        everything = dict(written_alone)
        everything.update(written_hostile)
        pipe = r.pipeline(transaction=False)
        keys = list(everything)
        for i in range(0, len(keys), 1000):
            chunk = keys[i:i + 1000]
            for key, got in zip(chunk, r.mget(chunk)):
                if got != everything[key]:
                    bad += 1
        del pipe
        check(bad == 0, "all %d keys of the well-behaved clients intact (%d bad)" %
              (len(everything), bad))
        check(max_rss[0] < RSS_BOUND_KB, "server RSS bounded: max %d KiB" % max_rss[0])
        info = r.info()
        print("RESULT well-behaved p50/p99 alone: %.2f/%.2f ms (%d ops); under attack: "
              "%.2f/%.2f ms (%d ops)" % (p50_alone * 1e3, p99_alone * 1e3, n_alone,
                                         p50_hostile * 1e3, p99_hostile * 1e3, n_hostile))
        print("RESULT RSS: start %d KiB, after good clients alone %d KiB, max under attack %d "
              "KiB, after %d KiB" % (base_rss, rss_alone, max_rss[0], rss_kb(pid)))
        print("RESULT idle connections %d, protocol errors %s, output-limit disconnections %s, "
              "write timeouts %s, rejected %s" % (
                  idle, info.get("protocol_errors"),
                  info.get("client_output_buffer_limit_disconnections"),
                  info.get("write_timeout_disconnections"), info.get("rejected_connections")))
    finally:
        code = srv.stop()
        check(code == 0, "server stopped cleanly (exit %s)" % code)
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
