#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The `cloudkv` command line as people use it (issue #23): --version, exit code 2 for usage
errors, help with examples, `help COMMAND`, shell completion, load errors, --json outputs,
--redis decoding of what `cloudkv serve` wrote, bare paths, read-only commands that create
nothing and writer commands that refuse a non-empty location without --create."""
import argparse
import json
import os
import stat
import subprocess
import sys

import redis

import harness

check = harness.Checks(verbose=True)


def tree(path):
    out = []
    for root, dirs, files in os.walk(path):
        out += [os.path.join(root, n) for n in dirs + files]
    return sorted(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    db = os.path.join(workdir, "db")
    url = "file://" + db

    def run(*argv, stdin=None):
        return subprocess.run([args.cloudkv] + list(argv), capture_output=True, input=stdin,
                              timeout=120)

    # --- --version, usage errors, help. ------------------------------------------------------
    out = run("--version")
    check(out.returncode == 0 and out.stdout.startswith(b"cloudkv 0."), "--version %r" % out.stdout)
    for argv in (["nosuchcommand"], [], ["get", url], ["put", url, "k", "v", "extra"],
                 ["scan", url, "--limit", "many"], ["load", url, "f", "--format", "xml"],
                 ["completion", "fish"], ["serve", "--db", url, "--on-fenced", "maybe"]):
        out = run(*argv)
        check(out.returncode == 2, "usage error %r exits 2 (got %d)" % (argv, out.returncode))
    commands = ["put", "get", "del", "scan", "load", "dump", "stats", "gc", "verify", "serve",
                "inspect", "help", "completion"]
    for sub in commands:
        out = run(sub, "--help")
        check(out.returncode == 0 and b"Usage" in out.stdout, "--help " + sub)
        if sub not in ("inspect", "verify"):
            check(b"Example:" in out.stdout, "--help %s has an example" % sub)
        out = run("help", sub)
        check(out.returncode == 0 and b"Usage" in out.stdout and sub.encode() in out.stdout,
              "help " + sub)
    out = run("help", "nosuch")
    check(out.returncode == 2, "help of an unknown command exits 2")

    # --- Completion generated from the command definitions. ----------------------------------
    for shell in ("bash", "zsh"):
        out = run("completion", shell)
        check(out.returncode == 0 and b"complete -F _cloudkv cloudkv" in out.stdout,
              "completion " + shell)
    script = run("completion", "bash").stdout.decode()
    check(subprocess.run(["bash", "-n"], input=script.encode()).returncode == 0,
          "bash completion parses")

    def complete(line):
        words = line.split(" ")
        probe = script + "\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_cloudkv\necho \"${COMPREPLY[@]}\"\n" % (
            " ".join("'%s'" % w for w in words), len(words) - 1)
        return subprocess.run(["bash", "-c", probe], capture_output=True).stdout.decode().split()

    check("scan" in complete("cloudkv sc") and "serve" in complete("cloudkv se"),
          "completes commands %r" % complete("cloudkv s"))
    check("--prefix" in complete("cloudkv scan x --pre"), "completes scan options")
    check(set(complete("cloudkv inspect ")) >= {"manifest", "sst", "wal"},
          "completes inspect's subcommands")
    check("--entries" in complete("cloudkv inspect sst x --e"), "completes nested options")
    check("--on-fenced" in complete("cloudkv serve --on"), "completes serve options")

    # --- Read-only commands create nothing; writers refuse a non-empty location. --------------
    foreign = os.path.join(workdir, "foreign")
    os.makedirs(foreign)
    with open(os.path.join(foreign, "notes.txt"), "w") as f:
        f.write("not a database\n")
    before = tree(workdir)
    for argv in (["get", foreign, "k"], ["scan", "file://" + foreign], ["stats", foreign],
                 ["gc", foreign], ["verify", foreign], ["inspect", "manifest", foreign],
                 ["get", os.path.join(workdir, "missing", "db"), "k"]):
        out = run(*argv)
        check(out.returncode != 0 and (b"NotFound" in out.stderr or b"no database" in out.stderr),
              "%s on a location without a database fails NotFound (%r)" % (argv[0], out.stderr))
    check(tree(workdir) == before, "read-only commands left no trace")
    out = run("put", foreign, "k", "v")
    check(out.returncode == 1 and b"--create" in out.stderr and b"notes.txt" in out.stderr,
          "put into a non-empty directory refused with a hint (%r)" % out.stderr)
    check(not os.path.exists(os.path.join(foreign, "manifest")), "refused put created no manifest")
    out = run("put", foreign, "k", "v", "--create")
    check(out.returncode == 0 and run("get", foreign, "k").stdout == b"v\n",
          "put --create creates the database there")
    check(run("put", foreign, "k2", "v2").returncode == 0, "then a plain put opens it")

    # --- A bare absolute path is file://. -----------------------------------------------------
    check(run("put", db, "apple", "red").returncode == 0, "put to a bare path")
    out = run("get", url, "apple")
    check(out.returncode == 0 and out.stdout == b"red\n", "bare path and file:// are one database")

    # --- --json outputs. ----------------------------------------------------------------------
    check(run("put", db, "banana", "yel\tlow").returncode == 0, "put 2")
    out = run("scan", db, "--json")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    check(rows == [{"key": "apple", "value": "red"}, {"key": "banana", "value": "yel\tlow"}],
          "scan --json %r" % rows)
    out = run("get", db, "apple", "--json")
    check(json.loads(out.stdout) == {"key": "apple", "value": "red"}, "get --json")
    out = run("stats", db, "--json")
    doc = json.loads(out.stdout)
    check(doc["database"]["last_sequence"] >= 2 and "wal_uploads" in doc["this_process"],
          "stats --json separates the database from this process")
    out = run("stats", db)
    check(b"This process only" in out.stdout, "stats marks per-process counters")
    out = run("gc", db, "--json")
    doc = json.loads(out.stdout)
    check(out.returncode == 0 and doc["manifests_kept"] >= 1 and "history_window_micros" in doc
          and doc["deleted"] == [], "gc --json %r" % doc)
    out = run("gc", db)
    check(b"kept:" in out.stdout and b"history window" in out.stdout, "gc explains what it kept")

    # --- load errors. -------------------------------------------------------------------------
    out = run("load", db, workdir)
    check(out.returncode == 1 and b"is a directory" in out.stderr, "load of a directory")
    unreadable = os.path.join(workdir, "secret.tsv")
    with open(unreadable, "w") as f:
        f.write("a\tb\n")
    os.chmod(unreadable, 0)
    if os.geteuid() != 0:
        out = run("load", db, unreadable)
        check(out.returncode == 1 and b"Permission denied" in out.stderr, "load of an unreadable file")
    out = run("load", db, os.path.join(workdir, "nope.tsv"))
    check(out.returncode == 1 and b"No such file" in out.stderr, "load of a missing file")
    records = os.path.join(workdir, "records.json")
    with open(records, "w") as f:
        f.write('{"key": "j", "value": "1"}\n')
    out = run("load", db, records)
    check(out.returncode == 1 and b"--format json" in out.stderr, ".json without --format hints")
    check(run("load", db, records, "--format", "json").returncode == 0, ".json with --format json")
    bad = b"l1\tv\nl2\tv\nl3 has no tab\nl4\tv\n"
    out = run("load", db, "-", stdin=bad)
    check(out.returncode == 1 and b"stdin:3" in out.stderr and b"the 2 records before line 3"
          in out.stderr, "bad line reports the records written (%r)" % out.stderr)
    check(run("get", db, "l2").stdout == b"v\n" and run("get", db, "l4").returncode == 1,
          "the records before the bad line are loaded, none after")

    # --- get/scan --redis decode what the server wrote. ----------------------------------------
    rdb = os.path.join(workdir, "redis-db")
    server = harness.start_cloudkv(args.cloudkv, rdb, workdir)
    c = redis.Redis(port=server.port, socket_timeout=30)
    c.set("greeting", "hello")
    c.hset("user:1", mapping={"name": "ada", "lang": "c++"})
    c.set("gone", "x", px=1)
    c.rpush("q", "b", "c")
    c.lpush("q", "a")
    c.sadd("tags", "x", "y")
    c.zadd("board", {"ann": 2.5, "bob": 1, "cy": float("inf")})
    check(server.stop() == 0, "server stopped")
    out = run("get", rdb, "greeting", "--redis")
    check(out.returncode == 0 and out.stdout == b"greeting\tstring\thello\n",
          "get --redis string %r" % out.stdout)
    out = run("get", rdb, "user:1", "--redis", "--json")
    check(out.returncode == 0 and json.loads(out.stdout) ==
          {"key": "user:1", "type": "hash", "fields": {"lang": "c++", "name": "ada"}},
          "get --redis hash %r" % out.stdout)
    out = run("get", rdb, "gone", "--redis")
    check(out.returncode == 1, "get --redis of an expired key is absent")
    out = run("get", rdb, "q", "--redis")
    check(out.returncode == 0 and out.stdout == b"q\tlist\ta\nq\tlist\tb\nq\tlist\tc\n",
          "get --redis list %r" % out.stdout)
    out = run("get", rdb, "q", "--redis", "--json")
    check(json.loads(out.stdout) == {"key": "q", "type": "list", "elements": ["a", "b", "c"]},
          "get --redis --json list %r" % out.stdout)
    out = run("get", rdb, "tags", "--redis", "--json")
    check(json.loads(out.stdout) == {"key": "tags", "type": "set", "members": ["x", "y"]},
          "get --redis --json set %r" % out.stdout)
    out = run("get", rdb, "board", "--redis")
    check(out.stdout == b"board\tzset\tbob\t1\nboard\tzset\tann\t2.5\nboard\tzset\tcy\tinf\n",
          "get --redis zset %r" % out.stdout)
    out = run("get", rdb, "board", "--redis", "--json")
    check(json.loads(out.stdout) == {"key": "board", "type": "zset", "members": [
        {"member": "bob", "score": "1"}, {"member": "ann", "score": "2.5"},
        {"member": "cy", "score": "inf"}]}, "get --redis --json zset %r" % out.stdout)
    out = run("scan", rdb, "--redis")
    check(out.stdout == b"board\tzset\tbob\t1\nboard\tzset\tann\t2.5\nboard\tzset\tcy\tinf\n"
          b"greeting\tstring\thello\nq\tlist\ta\nq\tlist\tb\nq\tlist\tc\n"
          b"tags\tset\tx\ntags\tset\ty\n"
          b"user:1\thash\tlang\tc++\nuser:1\thash\tname\tada\n",
          "scan --redis %r" % out.stdout)
    out = run("scan", rdb, "--redis", "--prefix", "user")
    check(out.stdout.count(b"\n") == 2, "scan --redis --prefix applies to Redis keys")
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
