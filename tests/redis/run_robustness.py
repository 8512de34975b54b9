#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Protocol robustness of `cloudkv serve`: truncated frames, huge declared lengths, binary
junk, half-open and idle connections, query-buffer and client limits. After every abuse the
server must still serve a well-behaved client, and the abusive client must get an error and be
disconnected without harming others."""
import argparse
import os
import random
import socket
import sys
import time

import redis

import harness

check = harness.Checks(verbose=True)


def read_until_closed(s, timeout=10.0):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


def healthy(port, label):
    r = redis.Redis(port=port, socket_timeout=30)
    r.set("health", label)
    check(r.get("health") == label.encode(), "server healthy after " + label)


def abuse(port, payload, expect_error, label):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(payload)
        data, closed = read_until_closed(s)
    check(closed, label + ": connection closed")
    if expect_error is not None:
        check(expect_error in data, label + ": error %r in %r" % (expect_error, data[:200]))
    healthy(port, label)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    args = parser.parse_args()
    workdir = harness.tempdir()
    rng = random.Random(int(os.environ.get("CLOUDKV_SEED", "1234")))
    print("seed", os.environ.get("CLOUDKV_SEED", "1234"))
    srv = harness.start_cloudkv(args.cloudkv, "memory://robust", workdir, [
        "--timeout", "2", "--maxclients", "20", "--client-query-buffer-limit", "1048576",
        "--proto-max-bulk-len", "4194304", "--max-multibulk", "1000"])
    try:
        port = srv.port
        bystander = redis.Redis(port=port, socket_timeout=30)
        bystander.set("bystander", "still here")
        abuse(port, b"*1\r\n$99999999999\r\n", b"-ERR Protocol error: invalid bulk length",
              "huge bulk length")
        abuse(port, b"*5000\r\n", b"-ERR Protocol error: invalid multibulk length",
              "huge multibulk count")
        abuse(port, b"*1\r\n$-3\r\n", b"-ERR Protocol error: invalid bulk length",
              "negative bulk length")
        abuse(port, b"*2\r\n$3\r\nGET\r\n+notabulk\r\n", b"-ERR Protocol error: expected '$'",
              "wrong element type")
        abuse(port, b"*1\r\n$4\r\nPINGxx", b"-ERR Protocol error", "missing CRLF after bulk")
        abuse(port, b"x" * (70 * 1024), b"-ERR Protocol error: too big inline request",
              "oversized inline request")
        abuse(port, b'SET a "unterminated\r\n', b"-ERR Protocol error: unbalanced quotes",
              "unbalanced quotes")
        # Query buffer limit: a declared 3 MiB bulk (allowed) beyond the 1 MiB buffer limit.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3145728\r\n")
            try:
                for _ in range(48):
                    s.sendall(b"z" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            data, closed = read_until_closed(s)
        check(closed and b"query buffer" in data, "query buffer limit")
        healthy(port, "query buffer limit")
        # Random binary junk, many times.
        for i in range(30):
            junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096)))
            if i % 2 == 0:
                junk = b"*" + junk
            with socket.create_connection(("127.0.0.1", port)) as s:
                try:
                    s.sendall(junk)
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                read_until_closed(s, timeout=5)
        healthy(port, "binary junk")
        # Truncated frame, then the client vanishes.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc")
        healthy(port, "truncated frame")
        # A pipeline whose client closes before reading replies.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*2\r\n$4\r\nINCR\r\n$2\r\npc\r\n" * 2000)
        healthy(port, "abandoned pipeline")
        # Half-open: a partial frame held open does not block others, and the idle timeout
        # closes it.
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"*2\r\n$3\r\nGET\r\n")
        healthy(port, "half-open connection")
        data, closed = read_until_closed(half, timeout=15)
        check(closed, "idle timeout closes a half-open connection")
        half.close()
        # Max clients (20): connections beyond the limit get an error and are closed.
        conns = []
        rejected = None
        try:
            for i in range(25):
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(b"PING\r\n")
                data = c.recv(100)
                if data.startswith(b"-ERR max number of clients reached"):
                    rejected = i
                    c.close()
                    break
                conns.append(c)
        finally:
            for c in conns:
                c.close()
        check(rejected is not None and rejected <= 20, "max clients (rejected at %s)" % rejected)
        time.sleep(0.5)
        healthy(port, "max clients")
        time.sleep(0.5)
        check(bystander.get("bystander") == b"still here", "bystander unaffected")
    finally:
        check(srv.stop() == 0, "server stops cleanly")
    # Bitmaps are string values: with a 1 MiB engine value limit, SETBIT and BITFIELD refuse
    # offsets beyond it (Redis's error, nothing allocated) and accept the last bit within it.
    small = harness.start_cloudkv(args.cloudkv, "memory://bits", workdir,
                                  ["--max-value-bytes", "1048576"])
    try:
        r = redis.Redis(port=small.port, socket_timeout=30)
        last_bit = (1048576 - 9) * 8 - 1  # a string's record adds a 9-byte header
        for argv in (("SETBIT", "b", str(last_bit + 1), "1"),
                     ("SETBIT", "b", str(1 << 40), "1"),
                     ("BITFIELD", "b", "SET", "u8", str(last_bit - 6), "1"),
                     ("BITFIELD", "b", "SET", "i64", "#999999999999", "1")):
            try:
                r.execute_command(*argv)
                check(False, "%s refused" % " ".join(argv))
            except redis.ResponseError as e:
                check(str(e) == "bit offset is not an integer or out of range",
                      "%s error: %s" % (" ".join(argv), e))
        check(r.exists("b") == 0, "refused bit writes create nothing")
        check(r.setbit("b", last_bit, 1) == 0 and r.strlen("b") == 1048576 - 9,
              "the last bit within the limit")
        check(r.bitcount("b") == 1 and r.bitpos("b", 1) == last_bit, "BITCOUNT/BITPOS of it")
    finally:
        check(small.stop() == 0, "bits server stops cleanly")
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
