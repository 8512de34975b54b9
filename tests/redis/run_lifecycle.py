#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`cloudkv serve` fails loudly: a second server on a busy port exits before it opens the
database (so it does not fence the first); a fenced server says so (log, INFO, /metrics,
/readyz) and exits 3, or with --on-fenced=read-only keeps serving reads; /healthz and /readyz;
INFO total_error_replies. Real processes, real sockets."""
import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import redis

import harness

check = harness.Checks(verbose=True)


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (None, error) if unreachable."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def wait_for(predicate, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def info_fields(client, section):
    return {k: str(v) for k, v in client.info(section).items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    url = "file://" + os.path.join(workdir, "db")
    # A short epoch check so that an idle server notices a fence within a second or so.
    fast = ["--epoch-check-interval-ms", "200"]

    # --- A second server on a busy port leaves the first one writing. -------------------------
    metrics1 = harness.free_port()
    first = harness.start_cloudkv(args.cloudkv, url, workdir,
                                  fast + ["--metrics-port", str(metrics1)])
    c1 = redis.Redis(port=first.port, socket_timeout=30)
    check(c1.set("k", "v1"), "first server writes")
    status, body = http_get(metrics1, "/healthz")
    check(status == 200, "/healthz 200 (%s %r)" % (status, body))
    check(wait_for(lambda: http_get(metrics1, "/readyz")[0] == 200), "/readyz 200 as writer")
    info = info_fields(c1, "replication")
    check(info.get("role") == "master" and info.get("fenced") == "0", "INFO role/fenced %r" % info)
    second = subprocess.run([args.cloudkv, "serve", "--db", url, "--port", str(first.port)] + fast,
                            capture_output=True, timeout=60)
    check(second.returncode != 0 and b"cannot listen" in second.stderr,
          "second serve on a busy port fails (%d, %r)" % (second.returncode, second.stderr))
    second = subprocess.run([args.cloudkv, "serve", "--db", url, "--port", "0",
                             "--metrics-port", str(metrics1)], capture_output=True, timeout=60)
    check(second.returncode != 0 and b"metrics" in second.stderr,
          "second serve on a busy metrics port fails (%r)" % second.stderr)
    time.sleep(1.0)  # a fence would be seen by now (epoch checks every 200 ms)
    check(first.proc.poll() is None, "first server still running")
    check(c1.set("k", "v2") and c1.get("k") == b"v2", "first server still accepts writes")

    # --- total_error_replies counts error replies. ---------------------------------------------
    before = int(info_fields(c1, "stats")["total_error_replies"])
    for cmd in (("nosuchcommand",), ("get",), ("incr", "k")):
        try:
            c1.execute_command(*cmd)
        except redis.ResponseError:
            pass
    after = int(info_fields(c1, "stats")["total_error_replies"])
    check(after - before == 3, "total_error_replies counts 3 errors (%d -> %d)" % (before, after))

    # --- A fenced server says so and exits 3. --------------------------------------------------
    intruder = subprocess.run([args.cloudkv, "put", url, "other", "writer"], capture_output=True,
                              timeout=60)
    check(intruder.returncode == 0, "another writer opens the database %r" % intruder.stderr)
    check(wait_for(lambda: first.proc.poll() is not None), "fenced server exits")
    rc = first.stop()
    log = first.output()
    check(rc == 3, "fenced server exit code 3 (got %s)" % rc)
    check("FENCED" in log, "fenced server logs it: %r" % log[-400:])

    # --- --on-fenced=read-only keeps serving reads; INFO, /metrics, /readyz say fenced. --------
    metrics2 = harness.free_port()
    ro = harness.start_cloudkv(args.cloudkv, url, workdir,
                               fast + ["--metrics-port", str(metrics2), "--on-fenced=read-only"])
    c2 = redis.Redis(port=ro.port, socket_timeout=30)
    check(c2.set("k", "v3"), "read-only-on-fence server writes before the fence")
    intruder = subprocess.run([args.cloudkv, "put", url, "other", "again"], capture_output=True,
                              timeout=60)
    check(intruder.returncode == 0, "another writer opens the database again")

    def replication():
        try:
            return info_fields(redis.Redis(port=ro.port, socket_timeout=10), "replication")
        except redis.RedisError:
            return {}

    check(wait_for(lambda: replication().get("fenced") == "1"), "INFO fenced:1 after the fence")
    info = replication()
    check(info.get("role") == "slave", "INFO role after the fence %r" % info)
    check(ro.proc.poll() is None, "read-only-on-fence server keeps running")
    c2 = redis.Redis(port=ro.port, socket_timeout=30)
    check(c2.get("k") == b"v3", "reads go on after the fence")
    try:
        c2.set("k", "v4")
        check(False, "write after the fence refused")
    except redis.ResponseError as e:
        check(str(e).startswith("You can't write") or "READONLY" in str(e) or "read only" in str(e),
              "write after the fence gets READONLY (%s)" % e)
    status, body = http_get(metrics2, "/readyz")
    check(status == 503 and "fenced" in body, "/readyz 503 after the fence (%s %r)" % (status, body))
    check(http_get(metrics2, "/healthz")[0] == 200, "/healthz 200 after the fence")
    status, body = http_get(metrics2, "/metrics")
    check(status == 200 and "cloudkv_fenced 1" in body and "cloudkv_writer 0" in body,
          "/metrics shows the fence")
    check("FENCED" in ro.output(), "read-only-on-fence server logs the fence")
    check(ro.stop() == 0, "read-only server stops cleanly on SIGTERM")
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
