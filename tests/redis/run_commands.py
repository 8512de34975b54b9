#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""redis-py against `cloudkv serve` (and the same generic checks against redis-server):
pipelines, read-your-writes, MULTI/EXEC/WATCH conflicts, concurrency, SCAN, RESP3, AUTH,
read-only mode, restart persistence and the metrics endpoint."""
import argparse
import os
import socket
import subprocess
import sys
import threading
import urllib.request

import redis

import harness

check = harness.Checks(verbose=False)


def generic(port, label):
    """Checks whose answers are Redis's; run against both servers."""
    r = redis.Redis(port=port)
    r.flushdb()
    # Pipelined read-modify-write: two INCRs give 6 and 7.
    r.set("n", 5)
    p = r.pipeline(transaction=False)
    p.incr("n")
    p.incr("n")
    check(p.execute() == [6, 7], label + ": pipelined INCRs")
    # A long pipeline of mixed writes and reads keeps order and reads its own writes.
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("k%d" % i, "v%d" % i)
        p.get("k%d" % i)
        p.incr("ctr")
    out = p.execute()
    check(all(out[3 * i] is True and out[3 * i + 1] == b"v%d" % i and out[3 * i + 2] == i + 1
              for i in range(500)), label + ": pipeline order and read-your-writes")
    # MULTI/EXEC through redis-py's transaction pipeline.
    p = r.pipeline(transaction=True)
    p.set("t", 1).incr("t").hset("th", "f", "v").hgetall("th")
    check(p.execute() == [True, 2, 1, {b"f": b"v"}], label + ": MULTI/EXEC")
    # WATCH: a write by another client, even of the same value, aborts EXEC.
    other = redis.Redis(port=port)
    for mutate, name in [(lambda: other.set("w", "same"), "same value"),
                         (lambda: other.expire("w", 100), "expiry change"),
                         (lambda: other.delete("w"), "delete"),
                         (lambda: other.flushdb(), "flushdb")]:
        r.set("w", "same")
        with r.pipeline() as p:
            p.watch("w")
            mutate()
            p.multi()
            p.set("w", "mine")
            try:
                p.execute()
                check(False, label + ": WATCH abort on " + name)
            except redis.WatchError:
                pass
    with r.pipeline() as p:
        r.set("w", "x")
        p.watch("w")
        other.set("unrelated", 1)
        p.multi()
        p.set("w", "mine")
        check(p.execute() == [True], label + ": WATCH without conflict")
    check(r.get("w") == b"mine", label + ": EXEC applied")
    # RESET forgets WATCHes (and MULTI): a write to a key watched before RESET aborts nothing.
    one = redis.Redis(port=port, single_connection_client=True)
    one.set("rw", "before")
    one.execute_command("WATCH", "rw")
    one.execute_command("MULTI")
    check(one.execute_command("RESET") in (b"RESET", "RESET"), label + ": RESET reply")
    other.set("rw", "other")
    one.execute_command("MULTI")
    one.execute_command("SET", "rw", "mine")
    check(one.execute_command("EXEC") is not None, label + ": RESET forgets WATCH")
    check(r.get("rw") == b"mine", label + ": EXEC after RESET applied")
    one.close()
    # QUIT replies OK and closes; a command behind it in the same send is not run.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"PING\r\nQUIT\r\nSET after-quit 1\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        check(data == b"+PONG\r\n+OK\r\n", label + ": QUIT (%r)" % data)
    check(r.exists("after-quit") == 0, label + ": nothing runs after QUIT")
    # SHUTDOWN's error replies (neither stops the server).
    for argv, want in [(("SHUTDOWN", "ABORT"), "No shutdown in progress."),
                       (("SHUTDOWN", "NOSAVE", "BOGUS"), "syntax error")]:
        try:
            r.execute_command(*argv)
            check(False, label + ": %s refused" % " ".join(argv))
        except redis.ResponseError as e:
            check(str(e) == want, label + ": %s error: %s" % (" ".join(argv), e))
    check(r.ping(), label + ": still serving after SHUTDOWN errors")
    # Concurrent INCRs from several clients lose nothing.
    r.delete("c")
    def worker():
        c = redis.Redis(port=port)
        p = c.pipeline(transaction=False)
        for _ in range(200):
            p.incr("c")
        p.execute()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(r.get("c") == b"1600", label + ": concurrent INCR")
    # Concurrent optimistic transactions: every successful EXEC counts exactly once.
    r.set("opt", 0)
    done = []
    def txn_worker():
        c = redis.Redis(port=port)
        ok = 0
        while ok < 20:
            with c.pipeline() as p:
                try:
                    p.watch("opt")
                    v = int(p.get("opt"))
                    p.multi()
                    p.set("opt", v + 1)
                    p.execute()
                    ok += 1
                except redis.WatchError:
                    continue
        done.append(ok)
    threads = [threading.Thread(target=txn_worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(r.get("opt") == b"80", label + ": WATCH-based counter under contention")
    # SCAN visits every key exactly once.
    r.flushdb()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("s:%04d" % i, i)
    p.hset("hash", mapping={"f%03d" % i: i for i in range(300)})
    p.execute()
    seen = list(r.scan_iter(match="s:*", count=37))
    check(len(seen) == 1000 and len(set(seen)) == 1000, label + ": SCAN complete")
    fields = dict(r.hscan_iter("hash", count=29))
    check(len(fields) == 300 and fields[b"f007"] == b"7", label + ": HSCAN complete")
    check(sorted(r.keys("s:000*")) == [b"s:%04d" % i for i in range(10)], label + ": KEYS")
    check(r.dbsize() == 1001, label + ": DBSIZE")
    check(r.hlen("hash") == 300 and len(r.hgetall("hash")) == 300, label + ": HLEN/HGETALL")
    # Binary-safe keys and values.
    blob = bytes(range(256)) * 4
    r.set(b"bin\x00key\r\n", blob)
    check(r.get(b"bin\x00key\r\n") == blob, label + ": binary safe")
    r.hset(b"bh\x00", b"f\x00\xff", blob)
    check(r.hget(b"bh\x00", b"f\x00\xff") == blob, label + ": binary safe hash")
    # Large value.
    big = os.urandom(3 << 20)
    r.set("big", big)
    check(r.get("big") == big and r.strlen("big") == len(big), label + ": 3 MiB value")
    # Expiry.
    r.set("px", 1, px=1)
    import time
    time.sleep(0.05)
    check(r.get("px") is None and r.exists("px") == 0, label + ": PX expiry")
    r.hset("hx", "f", "v")
    r.pexpire("hx", 1)
    time.sleep(0.05)
    check(r.hgetall("hx") == {} and r.type("hx") == b"none", label + ": hash expiry")
    r.hset("hx", "g", "w")
    check(r.hgetall("hx") == {b"g": b"w"}, label + ": expired hash fields stay gone")
    # RESP3 over a raw socket.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"HELLO 3\r\nGET nosuchkey\r\nHGETALL hx\r\nPING\r\n")
        data = b""
        while not data.endswith(b"+PONG\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        check(data.startswith(b"%7\r\n"), label + ": HELLO 3 map")
        check(b"_\r\n%1\r\n$1\r\ng\r\n$1\r\nw\r\n+PONG\r\n" in data, label + ": RESP3 null and map")
    # Inline commands.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"PING\r\nSET inl \"a b\"\r\nGET inl\r\n")
        data = b""
        while data.count(b"\r\n") < 4:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        check(data == b"+PONG\r\n+OK\r\n$3\r\na b\r\n", label + ": inline commands")
    r.flushdb()


def cloudkv_only(binary, workdir):
    # Refuses a non-loopback bind without a password.
    out = subprocess.run([binary, "serve", "--db", "memory://x", "--bind", "0.0.0.0", "--port",
                          str(harness.free_port())], capture_output=True, timeout=60)
    check(out.returncode != 0 and b"requirepass" in out.stderr, "refuses 0.0.0.0 without password")
    # AUTH.
    srv = harness.start_cloudkv(binary, "memory://auth", workdir, ["--requirepass", "s3cret"])
    try:
        r = redis.Redis(port=srv.port)
        try:
            r.get("x")
            check(False, "NOAUTH before AUTH")
        except redis.AuthenticationError:
            pass
        except redis.ResponseError as e:
            check(str(e).startswith("Authentication required"), "NOAUTH text: %s" % e)
        try:
            redis.Redis(port=srv.port, password="wrong").ping()
            check(False, "wrong password refused")
        except (redis.AuthenticationError, redis.ResponseError) as e:
            check("invalid username-password pair" in str(e), "WRONGPASS text: %s" % e)
        check(redis.Redis(port=srv.port, password="s3cret").ping(), "AUTH with password")
        check(redis.Redis(port=srv.port, username="default", password="s3cret").set("a", 1),
              "AUTH with user")
        # RESET drops the authentication; HELLO AUTH ... SETNAME authenticates and names.
        one = redis.Redis(port=srv.port, password="s3cret", single_connection_client=True)
        check(one.get("a") == b"1", "authenticated before RESET")
        one.execute_command("RESET")
        try:
            one.execute_command("GET", "a")
            check(False, "NOAUTH after RESET")
        except (redis.AuthenticationError, redis.ResponseError):
            pass
        hello = one.execute_command("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "n1")
        check(b"proto" in hello or "proto" in hello, "HELLO AUTH reply: %r" % (hello,))
        check(one.execute_command("CLIENT", "GETNAME") == b"n1", "HELLO SETNAME")
        check(one.get("a") == b"1", "HELLO AUTH authenticates")
        one.close()
    finally:
        check(srv.stop() == 0, "auth server stops cleanly")
    # Persistence across a graceful restart, then read-only mode.
    url = "file://" + os.path.join(workdir, "db")
    metrics_port = harness.free_port()
    srv = harness.start_cloudkv(binary, url, workdir, ["--metrics-port", str(metrics_port)])
    try:
        r = redis.Redis(port=srv.port)
        r.set("persist", "yes")
        r.hset("ph", mapping={"a": "1", "b": "2"})
        r.incrby("pc", 41)
        r.incr("pc")
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port).read().decode()
        check('cloudkv_commands_total{cmd="set"} 1' in text, "metrics: command count")
        check("cloudkv_command_duration_seconds_bucket" in text, "metrics: histogram")
        check("cloudkv_store_requests_total" in text, "metrics: store requests")
        # The four writes above each waited for their own durable WAL upload.
        batches = [float(line.split()[1]) for line in text.splitlines()
                   if line.startswith("cloudkv_wal_batches_total ")]
        check(batches and batches[0] >= 4, "metrics: WAL batches carried (%s)" % batches)
        check("cloudkv_wal_upload_seconds_total " in text, "metrics: WAL upload time")
        info = r.info("cloudkv")
        check("store_put_requests" in info, "INFO cloudkv section")
        check(info.get("wal_batches", 0) >= 4 and info.get("wal_upload_micros", 0) > 0,
              "INFO cloudkv WAL batches and upload time")
        check(r.select(0) if hasattr(r, "select") else True, "SELECT 0")
    finally:
        check(srv.stop() == 0, "file server stops cleanly")
    srv = harness.start_cloudkv(binary, url, workdir)
    try:
        r = redis.Redis(port=srv.port)
        check(r.get("persist") == b"yes", "value survives restart")
        check(r.hgetall("ph") == {b"a": b"1", b"b": b"2"}, "hash survives restart")
        check(r.get("pc") == b"42", "counter survives restart")
        # New hashes after a restart never see old fields (fresh versions).
        r.delete("ph")
        r.hset("ph", "c", "3")
        check(r.hgetall("ph") == {b"c": b"3"}, "recreated hash after restart")
        try:
            r.execute_command("SELECT", 1)
            check(False, "SELECT 1 refused")
        except redis.ResponseError as e:
            check("out of range" in str(e), "SELECT 1 error")
    finally:
        check(srv.stop() == 0, "restarted server stops cleanly")
    # SHUTDOWN from redis-cli: no reply (redis-cli prints nothing and succeeds), the server
    # stops gracefully and exits 0, and the write just before it is durable.
    srv = harness.start_cloudkv(binary, url, workdir)
    try:
        redis.Redis(port=srv.port).set("before-shutdown", "kept")
        cli = subprocess.run(["redis-cli", "-p", str(srv.port), "shutdown"], capture_output=True,
                             timeout=60)
        check(cli.returncode == 0 and cli.stdout.strip() == b"",
              "redis-cli shutdown: rc %d, output %r" % (cli.returncode, cli.stdout))
        srv.proc.wait(timeout=60)
        check(srv.proc.returncode == 0, "SHUTDOWN exits 0 (%s)" % srv.proc.returncode)
        check("SHUTDOWN from a client" in srv.output(), "SHUTDOWN is logged")
    finally:
        srv.stop()
    srv = harness.start_cloudkv(binary, url, workdir, ["--read-only"])
    try:
        r = redis.Redis(port=srv.port)
        check(r.get("persist") == b"yes", "read-only server reads")
        check(r.get("before-shutdown") == b"kept", "write before SHUTDOWN survives")
        try:
            r.set("x", 1)
            check(False, "read-only refuses writes")
        except redis.ResponseError as e:
            check(str(e).startswith("You can't write against a read only replica"),
                  "READONLY text: %s" % e)
    finally:
        check(srv.stop() == 0, "read-only server stops cleanly")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    ckv = harness.start_cloudkv(args.cloudkv, "memory://commands", workdir)
    try:
        generic(ckv.port, "cloudkv")
    finally:
        check(ckv.stop() == 0, "server stops cleanly")
    rs = harness.start_redis(workdir)
    if rs is not None:
        try:
            generic(rs.port, "redis-server")
        finally:
            rs.stop()
    cloudkv_only(args.cloudkv, workdir)
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
