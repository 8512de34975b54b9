#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write groups (docs/server.md): consecutive write commands of one socket read share one
WriteBatch. Pipelines mixing SET, INCR, GET, NX, errors and non-groupable writes on the same
keys, sent in one send over a raw socket, must give exactly redis-server's replies; so must
concurrent pipelined read-modify-writes from several clients, and WATCH against a client's own
pipelined writes. cloudkv only: a write the engine refuses (--max-value-bytes) fails alone,
the other commands of its pipeline succeed."""
import argparse
import socket
import sys
import threading

import harness

check = harness.Checks(verbose=False)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return line
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)


def pipeline(port, commands):
    """Sends every command with one sendall and returns the decoded replies in order."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"".join(encode(c) for c in commands))
        reader = Reader(s)
        return [reader.reply() for _ in commands]


MIXED = [
    ["DEL", "a", "h", "m1", "m2", "big"],
    ["SET", "a", 5],
    ["INCR", "a"],
    ["INCR", "a"],
    ["GET", "a"],
    ["SET", "a", "x", "NX"],        # writes nothing, in the middle of a group
    ["INCRBY", "a", 10],
    ["SET", "a", "y", "XX", "GET"],
    ["APPEND", "a", "z"],           # not groupable: ends the group, runs alone
    ["INCR", "a"],                  # run-time error inside a group: writes nothing
    ["SET", "a", 10],
    ["HSET", "a", "f", "v"],        # WRONGTYPE inside a group
    ["DECRBY", "a", 3],
    ["GETSET", "a", 100],
    ["GET", "a"],
    ["HSET", "h", "f", 1, "g", 2],
    ["HINCRBY", "h", "f", 2],
    ["HDEL", "h", "g"],
    ["HGETALL", "h"],
    ["MSET", "m1", 1, "m2", 2],
    ["INCR", "m1"],
    ["MSETNX", "m2", 9, "m3", 9],
    ["MGET", "m1", "m2", "m3"],
    ["SET", "big", "x" * 20000],    # longer than a groupable argument: runs alone
    ["INCR", "a"],
    ["STRLEN", "big"],
    ["NOSUCHCOMMAND", "a"],         # an error reply between writes
    ["SET", "a"],                   # wrong arity
    ["INCR", "a"],
    ["DEL", "a", "h"],
    ["GET", "a"],
    ["EXISTS", "a", "h", "m1"],
]


def generic(port, label, expected=None):
    """Returns the replies; compares them with `expected` (redis-server's) if given."""
    got = pipeline(port, MIXED)
    check(got[1:5] == [b"+OK", b":6", b":7", b"7"], label + ": pipelined SET INCR INCR GET")
    check(got[5] is None and got[6] == b":17" and got[7] == b"17", label + ": NX, INCRBY, XX GET")
    check(got[8] == b":2" and got[9].startswith(b"-ERR"), label + ": APPEND, INCR error")
    check(got[13] == b"7" and got[14] == b"100", label + ": GETSET then GET")
    check(got[24] == b":101" and got[28] == b":102" and got[30] is None,
          label + ": INCR after errors, DEL")
    if expected is not None:
        for i, (c, e) in enumerate(zip(got, expected)):
            check(c == e, "%s: reply %d to %r: %r, redis-server %r" % (label, i, MIXED[i][:3], c, e))
    # Several clients pipelining read-modify-writes on the same keys lose nothing.
    def worker():
        for _ in range(10):
            cmds = [["INCR", "ctr%d" % (i % 7)] for i in range(70)]
            cmds += [["HINCRBY", "hc", "f%d" % (i % 3), 1] for i in range(30)]
            pipeline(port, cmds)
    pipeline(port, [["DEL", "hc"] + ["ctr%d" % i for i in range(7)]])
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = pipeline(port, [["GET", "ctr%d" % i] for i in range(7)] + [["HGETALL", "hc"]])
    check(counts[:7] == [b"600"] * 7, label + ": concurrent pipelined INCRs: %r" % counts[:7])
    check(sorted(zip(counts[7][::2], counts[7][1::2])) == [(b"f0", b"600"), (b"f1", b"600"),
                                                            (b"f2", b"600")],
          label + ": concurrent pipelined HINCRBYs: %r" % counts[7])
    # A client's own pipelined write to a watched key aborts its EXEC.
    w = pipeline(port, [["SET", "w", 1], ["WATCH", "w"], ["SET", "w", 2], ["INCR", "w"],
                        ["MULTI"], ["INCR", "w"], ["EXEC"], ["GET", "w"]])
    check(w == [b"+OK", b"+OK", b"+OK", b":3", b"+OK", b"+QUEUED", None, b"3"],
          label + ": WATCH and own pipelined writes: %r" % w)
    # Another client's grouped write aborts EXEC; without it EXEC applies.
    pipeline(port, [["SET", "w2", 1]])
    with socket.create_connection(("127.0.0.1", port)) as s:
        reader = Reader(s)
        s.sendall(encode(["WATCH", "w2"]) + encode(["GET", "w2"]))
        check([reader.reply(), reader.reply()] == [b"+OK", b"1"], label + ": WATCH, GET")
        pipeline(port, [["SET", "x2", 1], ["SET", "w2", 1], ["SET", "y2", 1]])
        s.sendall(encode(["MULTI"]) + encode(["SET", "w2", 5]) + encode(["EXEC"]))
        check([reader.reply() for _ in range(3)] == [b"+OK", b"+QUEUED", None],
              label + ": EXEC aborted by another client's pipelined write")
    return got


def refused_write_fails_alone(binary, workdir):
    srv = harness.start_cloudkv(binary, "memory://refused", workdir, ["--max-value-bytes", "1000"])
    try:
        got = pipeline(srv.port, [["SET", "a", 1], ["INCR", "a"], ["SET", "b", "v" * 2000],
                                  ["INCR", "a"], ["SET", "c", 3], ["MGET", "a", "b", "c"]])
        check(got[:2] == [b"+OK", b":2"], "writes before a refused one: %r" % got[:2])
        check(got[2].startswith(b"-ERR write failed: InvalidArgument"), "refused: %r" % got[2])
        check(got[3:] == [b":3", b"+OK", [b"3", None, b"3"]], "writes after a refused one: %r" %
              got[3:])
    finally:
        check(srv.stop() == 0, "server stops cleanly")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    expected = None
    rs = harness.start_redis(workdir)
    if rs is not None:
        try:
            expected = generic(rs.port, "redis-server")
        finally:
            rs.stop()
    ckv = harness.start_cloudkv(args.cloudkv, "file://" + workdir + "/db", workdir)
    try:
        generic(ckv.port, "cloudkv", expected)
    finally:
        check(ckv.stop() == 0, "server stops cleanly")
    refused_write_fails_alone(args.cloudkv, workdir)
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
