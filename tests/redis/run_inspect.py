#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`cloudkv inspect manifest|sst|wal` and `cloudkv verify` on a file:// database written with
the CLI: every inspect prints valid JSON with the right contents (binary keys escaped), a clean
database verifies, and verify fails naming the object after one SST byte is flipped, an SST is
deleted, or an acknowledged WAL object is deleted. Bad input gets a message and a non-zero exit,
never a crash. Nothing here may modify the database: the object listing is compared before and
after the read-only commands."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import harness

check = harness.Checks(verbose=True)


def snapshot(root):
    """Every file under root with its bytes: to prove read-only commands change nothing."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def unescape_key(text):
    """JSON strings from cloudkv hold one \\u00HH per byte: map code points back to bytes."""
    return bytes(ord(c) for c in text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    root = os.path.join(workdir, "db")
    url = "file://" + root

    def run(*argv, stdin=None):
        out = subprocess.run([args.cloudkv] + list(argv), capture_output=True, input=stdin,
                             timeout=300)
        # A crash (signal, sanitizer report) is never an acceptable answer.
        check(out.returncode >= 0 and b"Sanitizer" not in out.stderr,
              "no crash: %s" % " ".join(argv[:3]))
        return out

    def run_json(*argv):
        out = run(*argv)
        try:
            return out, json.loads(out.stdout)
        except ValueError as e:
            check(False, "valid JSON from %s: %s" % (" ".join(argv[:3]), e))
            return out, None

    for sub in [["inspect"], ["inspect", "manifest"], ["inspect", "sst"], ["inspect", "wal"],
                ["verify"]]:
        out = run(*sub, "--help")
        check(out.returncode == 0 and b"Usage" in out.stdout, "--help " + " ".join(sub))

    # A database with an SST (load --flush) holding binary keys, then a WAL tail.
    records = [(b"bin\x00\x01\xff%04d" % i, b"v\"\\\n%d" % i) for i in range(2000)]
    tsv = b"".join(
        (lambda esc: esc(k) + b"\t" + esc(v) + b"\n")(
            lambda s: b"".join(
                {9: b"\\t", 10: b"\\n", 13: b"\\r", 92: b"\\\\"}.get(c) or
                (b"\\x%02x" % c if c < 0x20 or c == 0x7f else bytes([c])) for c in s))
        for k, v in records)
    check(run("load", url, "-", "--flush", stdin=tsv).returncode == 0, "load --flush")
    check(run("put", url, "tail\x01key", "tail value").returncode == 0, "put after flush")
    check(run("del", url, "bin").returncode == 0, "del after flush")
    before = snapshot(root)

    # inspect manifest: latest, --list, --version.
    out, m = run_json("inspect", "manifest", url)
    check(out.returncode == 0 and m is not None, "inspect manifest")
    if m:
        ssts = m["ssts"]
        check(len(ssts) == 1 and ssts[0]["level"] == 0 and ssts[0]["num_entries"] == 2000,
              "manifest lists the flushed SST")
        check(unescape_key(ssts[0]["smallest"]["user_key"]) == records[0][0] and
              unescape_key(ssts[0]["largest"]["user_key"]) == records[-1][0],
              "SST key range with binary keys escaped")
        manifest = m["manifest"]
        check(int(manifest["version"]) >= 3 and len(manifest["l0"]) == 1, "manifest body")
        sst_key = ssts[0]["object_key"]
        replay_point = int(manifest["replayPoint"])
        latest_version = int(manifest["version"])
    else:
        sst_key, replay_point, latest_version = "sst/none.sst", 1, 1
    out, listing = run_json("inspect", "manifest", url, "--list")
    check(out.returncode == 0 and listing and
          [e["version"] for e in listing] == list(range(1, latest_version + 1)),
          "inspect manifest --list")
    out, m1 = run_json("inspect", "manifest", url, "--version", "1")
    check(out.returncode == 0 and m1 and int(m1["manifest"]["version"]) == 1 and
          m1["manifest"]["committer"] == "create", "inspect manifest --version 1")
    out = run("inspect", "manifest", url, "--version", "999")
    check(out.returncode != 0 and b"no manifest version 999" in out.stderr and not out.stdout,
          "absent manifest version")

    # inspect sst, with the first entries.
    out, sst = run_json("inspect", "sst", url, sst_key, "--entries", "3")
    check(out.returncode == 0 and sst is not None, "inspect sst")
    if sst:
        props = sst["properties"]
        check(props["num_entries"] == 2000 and props["num_deletions"] == 0, "sst properties")
        check(sst["index"]["data_blocks"] >= 1 and sst["filter"]["present"] and
              sst["filter"]["bytes"] == sst["footer"]["filter"]["size"] > 0,
              "sst index summary and filter")
        check(sst["size_bytes"] == sst["footer"]["index"]["offset"] +
              sst["footer"]["index"]["size"] + 88, "footer handles end at the footer")
        entries = sst["entries"]
        check([unescape_key(e["user_key"]) for e in entries] == [k for k, _ in records[:3]] and
              [unescape_key(e["value"]) for e in entries] == [v for _, v in records[:3]] and
              all(e["type"] == "value" for e in entries), "sst first entries")
    out, bare = run_json("inspect", "sst", url, sst_key.split("/", 1)[1])
    check(out.returncode == 0 and bare and "entries" not in bare, "inspect sst by bare name")

    # inspect wal: the fence of the first writer and the tail's put and delete.
    out, fence = run_json("inspect", "wal", url, "1")
    check(out.returncode == 0 and fence and fence["fence"] and fence["kind"] == "fence" and
          fence["batches"] == [], "inspect wal: fence")
    ops = []
    for name in sorted(os.listdir(os.path.join(root, "wal"))):
        wal_id = int(name.split(".")[0])
        if wal_id < replay_point:
            continue
        out, w = run_json("inspect", "wal", url, "wal/" + name, "--values")
        check(out.returncode == 0 and w and w["id"] == wal_id, "inspect wal " + name)
        for b in (w or {}).get("batches", []):
            check(b["count"] == len(b["ops"]) and b["last_sequence"] >= b["first_sequence"],
                  "batch header of " + name)
            ops += b["ops"]
    check(ops == [{"op": "put", "key": "tail\u0001key", "value_bytes": 10, "value": "tail value"},
                  {"op": "delete", "key": "bin"}], "WAL tail ops %r" % ops)

    # verify: clean, with text and JSON reports.
    out = run("verify", url)
    check(out.returncode == 0 and b"OK" in out.stdout and b"problems: 0" in out.stdout,
          "clean database verifies: %r %r" % (out.stdout, out.stderr))
    out, report = run_json("verify", url, "--json", "--all-manifests")
    check(out.returncode == 0 and report and report["ok"] and report["problems"] == [] and
          report["kinds"]["sst"]["objects"] == 1 and
          report["kinds"]["manifest"]["objects"] == latest_version and
          report["objects_checked"] >= 3, "verify --json --all-manifests")
    check(snapshot(root) == before, "inspect and verify changed nothing")

    # Bad input: messages on stderr, non-zero exits, nothing on stdout, nothing created.
    missing_dir = os.path.join(workdir, "nothing-here")
    for argv, what in [
        (["verify", "file://" + missing_dir], "verify of a missing directory"),
        (["inspect", "manifest", "file://" + missing_dir], "inspect of a missing directory"),
        (["verify", "bogus://x"], "bad URL scheme"),
        (["inspect", "sst", url, "sst/absent.sst"], "absent SST"),
        (["inspect", "wal", url, "999999"], "absent WAL object"),
        (["inspect", "wal", url, "not-an-id"], "bad WAL id"),
        (["inspect", "sst", url, "manifest/LATEST"], "not an SST"),
    ]:
        out = run(*argv)
        check(out.returncode != 0 and out.stderr.startswith(b"cloudkv") and not out.stdout,
              what + ": %r" % out.stderr[:200])
    check(not os.path.exists(missing_dir), "a missing directory is not created")
    bad_url = "file://" + os.path.join(workdir, "empty")
    os.makedirs(os.path.join(workdir, "empty"))
    out = run("verify", bad_url)
    check(out.returncode != 0 and b"no database" in out.stderr, "verify of an empty directory")

    # A flipped byte in a data block: verify fails naming the SST and the block.
    damaged = os.path.join(workdir, "damaged")
    shutil.copytree(root, damaged)
    durl = "file://" + damaged
    sst_path = os.path.join(damaged, sst_key)
    with open(sst_path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x10]))
    out, report = run_json("verify", durl, "--json")
    check(out.returncode == 1 and report and not report["ok"] and
          any(p["object_key"] == sst_key and "checksum" in p["problem"]
              for p in report["problems"]), "flipped data byte found: %r" % (report,))
    check(sst_key.encode() in out.stderr, "problem on stderr names the SST")
    # ... and one in the footer.
    with open(sst_path, "r+b") as f:
        f.seek(-20, os.SEEK_END)
        byte = f.read(1)
        f.seek(-20, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0x01]))
    out = run("verify", durl)
    check(out.returncode == 1 and sst_key.encode() in out.stderr and b"FAILED" in out.stdout,
          "flipped footer byte found")
    out = run("inspect", "sst", durl, sst_key)
    check(out.returncode != 0 and b"Corruption" in out.stderr and not out.stdout,
          "inspect of a corrupt SST is an error, not a crash")

    # A deleted SST.
    os.remove(sst_path)
    out = run("verify", durl)
    check(out.returncode == 1 and (sst_key + ": missing").encode() in out.stderr,
          "deleted SST found: %r" % out.stderr)

    # A deleted acknowledged WAL object (the tail's put) followed by a newer writer's fence.
    lost = os.path.join(workdir, "lost-wal")
    shutil.copytree(root, lost)
    lurl = "file://" + lost
    tail = sorted(n for n in os.listdir(os.path.join(lost, "wal"))
                  if int(n.split(".")[0]) >= replay_point)
    put_object = None
    for name in tail:
        _, w = run_json("inspect", "wal", lurl, "wal/" + name)
        if w and any(op["op"] == "put" for b in w["batches"] for op in b["ops"]):
            put_object = "wal/" + name
    check(put_object is not None, "found the WAL object of the put")
    if put_object:
        os.remove(os.path.join(lost, put_object))
        out = run("verify", lurl)
        check(out.returncode == 1 and (put_object + ": missing").encode() in out.stderr,
              "deleted WAL object found: %r" % out.stderr)

    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
