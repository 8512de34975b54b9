#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The `cloudkv` command line on a file:// database: put/get/del/scan/load/dump/stats/gc and
--help on every subcommand."""
import argparse
import json
import os
import subprocess
import sys

import harness

check = harness.Checks(verbose=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    url = "file://" + os.path.join(workdir, "db")

    def run(*argv, stdin=None):
        return subprocess.run([args.cloudkv] + list(argv), capture_output=True, input=stdin,
                              timeout=120)

    for sub in ["", "put", "get", "del", "scan", "load", "dump", "stats", "gc", "serve"]:
        out = run(*([sub] if sub else []), "--help")
        check(out.returncode == 0 and b"Usage" in out.stdout, "--help " + sub)
    check(run("put", url, "apple", "red").returncode == 0, "put")
    out = run("get", url, "apple")
    check(out.returncode == 0 and out.stdout == b"red\n", "get")
    out = run("get", url, "nope")
    check(out.returncode == 1 and b"not found" in out.stderr, "get absent")
    check(run("put", url, "banana", "yel\tlow").returncode == 0, "put with tab")
    check(run("put", url, "cherry", "dark red").returncode == 0, "put 3")
    out = run("scan", url)
    check(out.stdout == b"apple\tred\nbanana\tyel\\tlow\ncherry\tdark red\n", "scan %r" % out.stdout)
    out = run("scan", url, "--reverse", "--limit", "2")
    check(out.stdout == b"cherry\tdark red\nbanana\tyel\\tlow\n", "scan reverse limit")
    out = run("scan", url, "--prefix", "b")
    check(out.stdout == b"banana\tyel\\tlow\n", "scan prefix")
    out = run("scan", url, "--start", "b", "--end", "c")
    check(out.stdout == b"banana\tyel\\tlow\n", "scan start/end")
    check(run("del", url, "apple").returncode == 0, "del")
    check(run("get", url, "apple").returncode == 1, "deleted")
    # load/dump round trips, TSV and JSON lines, with binary bytes.
    records = [(b"k\x00%d" % i, bytes([i % 256]) * (i % 7) + b"\n\t\\\xff") for i in range(300)]
    tsv = b"".join(k.replace(b"\\", b"\\\\").replace(b"\x00", b"\\x00") + b"\t" +
                   v.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\t", b"\\t")
                   .replace(b"\r", b"\\r") + b"\n" for k, v in records)
    tsv = b"".join(
        (lambda esc: esc(k) + b"\t" + esc(v) + b"\n")(
            lambda s: b"".join(
                {9: b"\\t", 10: b"\\n", 13: b"\\r", 92: b"\\\\"}.get(c) or
                (b"\\x%02x" % c if c < 0x20 or c == 0x7f else bytes([c])) for c in s))
        for k, v in records)
    url2 = "file://" + os.path.join(workdir, "db2")
    check(run("load", url2, "-", stdin=tsv).returncode == 0, "load tsv")
    out = run("dump", url2)
    check(out.returncode == 0 and out.stdout == b"".join(sorted(tsv.splitlines(True))),
          "dump tsv round trip")
    dump_json = os.path.join(workdir, "dump.jsonl")
    check(run("dump", url2, dump_json, "--format", "json").returncode == 0, "dump json")
    with open(dump_json, "rb") as f:
        lines = f.read().splitlines()
    check(len(lines) == 300 and all("key" in json.loads(l) for l in lines), "json lines valid")
    url3 = "file://" + os.path.join(workdir, "db3")
    check(run("load", url3, dump_json, "--format", "json").returncode == 0, "load json")
    check(run("dump", url3).stdout == run("dump", url2).stdout, "json round trip")
    out = run("load", url3, "-", stdin=b"no tab here\n")
    check(out.returncode != 0 and b"malformed" in out.stderr, "malformed input refused")
    out = run("stats", url2)
    check(out.returncode == 0 and b"last_sequence" in out.stdout, "stats")
    # gc: an SST named as created in 1970 that no manifest references is an old orphan; a young
    # one (named now) and the data stay.
    import time
    old = "sst/0000000000001-00000000000000aa.sst"
    young = "sst/%013x-00000000000000bb.sst" % int(time.time() * 1e6)
    for key in (old, young):
        os.makedirs(os.path.join(workdir, "db2", "sst"), exist_ok=True)
        with open(os.path.join(workdir, "db2", key), "wb") as f:
            f.write(b"orphan")
    out = run("gc", url2, "--list")
    check(out.returncode == 0 and b"deleted " + old.encode() in out.stdout and
          b"ssts_deleted           1" in out.stdout, "gc deletes an old orphan %r" % out.stdout)
    check(not os.path.exists(os.path.join(workdir, "db2", old)) and
          os.path.exists(os.path.join(workdir, "db2", young)), "gc keeps a young orphan")
    check(run("dump", url3).stdout == run("dump", url2).stdout, "data intact after gc")
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
