#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Lists, sets and sorted sets against `cloudkv serve` and a real redis-server:

* blocking commands with several connections (BLPOP/BRPOP/BLMOVE/BZPOPMIN/BZPOPMAX woken by a
  push from another client, FIFO among waiters, timeouts, MULTI never blocks), replies
  compared between servers;
* a randomized differential test: random command streams over strings (bitmaps, LCS),
  hashes, lists, sets and sorted sets (SORT, COPY), with MULTI/EXEC and expiry, run on both servers with replies compared.
  Prints its seed; CLOUDKV_SEED=<n> repeats a run, CLOUDKV_TYPES_OPS sets its length.
"""
import argparse
import os
import random
import sys
import threading
import time

import redis

import harness

check = harness.Checks(verbose=False)


def blocking(port):
    """Returns a transcript of what the clients saw."""
    out = []
    a = redis.Redis(port=port)
    b = redis.Redis(port=port)
    c = redis.Redis(port=port)
    a.flushdb()
    # Timeouts: nil after the timeout; a fractional timeout works.
    t0 = time.time()
    out.append(("timeout", a.blpop(["nothing"], timeout=0.2)))
    out.append(("waited", time.time() - t0 >= 0.15))
    out.append(("brpop timeout", a.brpop(["nothing"], timeout=0.1)))
    out.append(("blmove timeout", a.blmove("nothing", "dst", 0.1, "LEFT", "RIGHT")))
    # Two waiters, oldest first; the pusher sees the list already served.
    results = {}

    def wait(name, client, fn):
        results[name] = fn(client)

    ta = threading.Thread(target=wait, args=("a", a, lambda r: r.blpop(["q1", "q2"], timeout=5)))
    ta.start()
    time.sleep(0.3)
    tb = threading.Thread(target=wait, args=("b", b, lambda r: r.brpop(["q2"], timeout=5)))
    tb.start()
    time.sleep(0.3)
    out.append(("push", c.rpush("q2", "x", "y", "z")))
    ta.join()
    tb.join()
    out.append(("a got", results["a"]))
    out.append(("b got", results["b"]))
    out.append(("left", c.lrange("q2", 0, -1)))
    # BLMOVE woken by a push from another client.
    tm = threading.Thread(target=wait,
                          args=("m", a, lambda r: r.blmove("src", "dst", 5, "RIGHT", "LEFT")))
    tm.start()
    time.sleep(0.3)
    out.append(("push src", c.lpush("src", "v1")))
    tm.join()
    out.append(("moved", results["m"]))
    out.append(("dst", c.lrange("dst", 0, -1)))
    out.append(("src len", c.llen("src")))
    # A push inside MULTI serves the waiter after EXEC: the transaction's own LPOP wins.
    tw = threading.Thread(target=wait, args=("w", a, lambda r: r.blpop(["tq"], timeout=5)))
    tw.start()
    time.sleep(0.3)
    p = c.pipeline(transaction=True)
    p.rpush("tq", "t1", "t2")
    p.lpop("tq")
    out.append(("exec", p.execute()))
    tw.join()
    out.append(("waiter after exec", results["w"]))
    # A blocked client's later pipelined commands wait for it.
    tp = threading.Thread(target=wait, args=("p", b, lambda r: r.pipeline(transaction=False)
                                            .blpop(["pq"], timeout=5).echo("after").execute()))
    tp.start()
    time.sleep(0.3)
    out.append(("push pq", c.rpush("pq", "p1")))
    tp.join()
    out.append(("pipeline", results["p"]))
    # BZPOPMIN/BZPOPMAX: timeout, immediate pop, woken by ZADD from another client (oldest
    # waiter first), a list push does not wake a sorted-set waiter, woken by ZUNIONSTORE.
    out.append(("bzpopmin timeout", a.bzpopmin(["zq"], timeout=0.1)))
    c.zadd("zq", {"m1": 1, "m2": 2, "m3": 3})
    out.append(("bzpopmin now", a.bzpopmin(["nothing", "zq"], timeout=1)))
    out.append(("bzpopmax now", a.bzpopmax(["zq"], timeout=1)))
    c.delete("zq")
    tza = threading.Thread(target=wait, args=("za", a, lambda r: r.bzpopmax(["zw"], timeout=5)))
    tza.start()
    time.sleep(0.3)
    tzb = threading.Thread(target=wait,
                           args=("zb", b, lambda r: r.bzpopmin(["zw2", "zw"], timeout=5)))
    tzb.start()
    time.sleep(0.3)
    out.append(("zadd", c.zadd("zw", {"x": 1, "y": 2, "z": 3})))
    tza.join()
    tzb.join()
    out.append(("za got", results["za"]))
    out.append(("zb got", results["zb"]))
    out.append(("zw left", c.zrange("zw", 0, -1)))
    tzl = threading.Thread(target=wait, args=("zl", a, lambda r: r.bzpopmin(["zl"], timeout=1)))
    tzl.start()
    time.sleep(0.3)
    out.append(("lpush on zset waiter", c.lpush("zl", "v")))
    tzl.join()
    out.append(("zset waiter after lpush", results["zl"]))
    c.delete("zl")
    c.zadd("zsrc", {"s": 5})
    tzs = threading.Thread(target=wait, args=("zs", a, lambda r: r.bzpopmin(["zdst"], timeout=5)))
    tzs.start()
    time.sleep(0.3)
    out.append(("zunionstore", c.zunionstore("zdst", ["zsrc"])))
    tzs.join()
    out.append(("woken by zunionstore", results["zs"]))
    # A list or sorted set renamed onto a key serves its waiters.
    for name, fn, fill in [
            ("rename list", lambda r: r.blpop(["rdst"], timeout=5),
             lambda: c.rpush("rsrc", "r1", "r2")),
            ("rename zset", lambda r: r.bzpopmax(["rdst"], timeout=5),
             lambda: c.zadd("rsrc", {"z1": 1, "z2": 2}))]:
        c.delete("rsrc", "rdst")
        fill()
        tr = threading.Thread(target=wait, args=(name, a, fn))
        tr.start()
        time.sleep(0.3)
        out.append((name, c.rename("rsrc", "rdst")))
        tr.join()
        out.append((name + " served", results[name]))
        out.append((name + " left", c.type("rdst"), c.exists("rsrc")))
    p = c.pipeline(transaction=True)
    p.bzpopmin(["nothing"], timeout=0)
    p.zadd("zm", {"q": 1})
    p.bzpopmax(["zm"], timeout=0)
    out.append(("bzpop in multi", p.execute()))
    # Wrong type while blocked keys are empty.
    c.set("str", "v")
    try:
        a.blpop(["empty", "str"], timeout=1)
        out.append(("wrongtype", None))
    except redis.ResponseError as e:
        out.append(("wrongtype", str(e)))
    return out


# --- randomized differential test ------------------------------------------------------------

KEYS = ["k%d" % i for i in range(6)]
MEMBERS = ["a", "b", "c", "d", "e", "1", "2", "10"]


def random_command(rng):
    k = rng.choice(KEYS)
    m = lambda: rng.choice(MEMBERS)
    n = lambda: str(rng.randint(-3, 6))
    score = lambda: rng.choice(["1", "2", "2.5", "-1", "0", "+inf", "-inf", "3"])
    choices = [
        lambda: ["SET", k, m()], lambda: ["GET", k], lambda: ["APPEND", k, m()],
        lambda: ["HSET", k, m(), m()], lambda: ["HGETALL", k], lambda: ["HDEL", k, m()],
        lambda: ["LPUSH", k, m(), m()], lambda: ["RPUSH", k, m()], lambda: ["LPOP", k],
        lambda: ["RPOP", k, str(rng.randint(0, 3))], lambda: ["LRANGE", k, n(), n()],
        lambda: ["LINDEX", k, n()], lambda: ["LSET", k, n(), m()], lambda: ["LLEN", k],
        lambda: ["LINSERT", k, rng.choice(["BEFORE", "AFTER"]), m(), m()],
        lambda: ["LREM", k, n(), m()], lambda: ["LTRIM", k, n(), n()], lambda: ["LPOS", k, m()],
        lambda: ["LMOVE", k, rng.choice(KEYS), rng.choice(["LEFT", "RIGHT"]),
                 rng.choice(["LEFT", "RIGHT"])],
        lambda: ["SADD", k, m(), m()], lambda: ["SREM", k, m()], lambda: ["SCARD", k],
        lambda: ["SISMEMBER", k, m()], lambda: ["SMISMEMBER", k, m(), m()],
        lambda: ["SMOVE", k, rng.choice(KEYS), m()],
        lambda: ["SINTERCARD", "2", k, rng.choice(KEYS)],
        lambda: ["SUNIONSTORE", k, rng.choice(KEYS), rng.choice(KEYS)],
        lambda: ["SDIFFSTORE", k, rng.choice(KEYS), rng.choice(KEYS)],
        lambda: ["ZADD", k, score(), m()], lambda: ["ZADD", k, "GT", "CH", score(), m()],
        lambda: ["ZADD", k, "INCR", score(), m()], lambda: ["ZINCRBY", k, score(), m()],
        lambda: ["ZREM", k, m()], lambda: ["ZSCORE", k, m()], lambda: ["ZCARD", k],
        lambda: ["ZRANGE", k, n(), n(), "WITHSCORES"],
        lambda: ["ZRANGE", k, "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
        lambda: ["ZRANGE", k, "(1", "3", "BYSCORE", "REV"] if False else
        ["ZRANGE", k, "3", "(1", "BYSCORE", "REV"],
        lambda: ["ZCOUNT", k, "(0", "+inf"], lambda: ["ZRANK", k, m()],
        lambda: ["ZREVRANK", k, m()], lambda: ["ZPOPMIN", k], lambda: ["ZPOPMAX", k, "2"],
        lambda: ["ZREMRANGEBYRANK", k, n(), n()], lambda: ["ZREMRANGEBYSCORE", k, "1", "2"],
        lambda: ["ZUNIONSTORE", k, "2", rng.choice(KEYS), rng.choice(KEYS)],
        lambda: ["ZINTERSTORE", k, "2", rng.choice(KEYS), rng.choice(KEYS)],
        lambda: ["TYPE", k], lambda: ["DEL", k], lambda: ["EXISTS", k],
        lambda: ["EXPIRE", k, rng.choice(["100", "0", "-1"])], lambda: ["TTL", k],
        lambda: ["PERSIST", k], lambda: ["RENAME", k, rng.choice(KEYS)],
        # bitmaps and the other string and key commands
        lambda: ["SETBIT", k, str(rng.randint(0, 40)), rng.choice(["0", "1"])],
        lambda: ["GETBIT", k, str(rng.randint(0, 40))],
        lambda: ["BITCOUNT", k], lambda: ["BITCOUNT", k, n(), n()],
        lambda: ["BITCOUNT", k, n(), n(), rng.choice(["BIT", "BYTE"])],
        lambda: ["BITPOS", k, rng.choice(["0", "1"])],
        lambda: ["BITPOS", k, rng.choice(["0", "1"]), n(), n(), rng.choice(["BIT", "BYTE"])],
        lambda: ["BITOP", rng.choice(["AND", "OR", "XOR"]), k, rng.choice(KEYS),
                 rng.choice(KEYS)],
        lambda: ["BITOP", "NOT", k, rng.choice(KEYS)],
        lambda: ["BITFIELD", k, "OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"]), "INCRBY",
                 rng.choice(["i5", "u4", "i8", "u1"]), str(rng.randint(0, 20)), n(),
                 "GET", "u8", "0"],
        lambda: ["BITFIELD", k, "SET", rng.choice(["i3", "u7", "i16"]),
                 "#" + str(rng.randint(0, 3)), str(rng.randint(-300, 300))],
        lambda: ["BITFIELD_RO", k, "GET", rng.choice(["i6", "u6"]), str(rng.randint(0, 30))],
        lambda: ["LCS", k, rng.choice(KEYS)], lambda: ["LCS", k, rng.choice(KEYS), "LEN"],
        lambda: ["LCS", k, rng.choice(KEYS), "IDX", "WITHMATCHLEN"],
        lambda: ["COPY", k, rng.choice(KEYS)] + rng.choice([[], ["REPLACE"]]),
        lambda: ["TOUCH", k, rng.choice(KEYS)],
        lambda: ["SORT", k] + rng.choice([[], ["ALPHA"], ["DESC", "ALPHA"]]) +
        rng.choice([[], ["LIMIT", n(), n()]]),
        lambda: ["SORT", k, "ALPHA", "STORE", rng.choice(KEYS)],
        lambda: ["SORT_RO", k, "ALPHA", "DESC"],
        lambda: ["SORT", k, "BY", "nosuch_*", "GET", "#"],
        lambda: ["BZPOPMIN", k, rng.choice(KEYS), "0.01"],
        lambda: ["BZPOPMAX", k, "0.01"],
    ]
    return rng.choice(choices)()


def normalize(reply):
    if isinstance(reply, list):
        return [normalize(r) for r in reply]
    if isinstance(reply, set):
        return sorted(normalize(r) for r in reply)
    if isinstance(reply, redis.ResponseError):
        return "ERR:" + str(reply)
    return reply


def execute(client, cmd):
    try:
        return normalize(client.execute_command(*cmd))
    except redis.ResponseError as e:
        return "ERR:" + str(e)


def differential(ports, seed, ops):
    rng = random.Random(seed)
    clients = [redis.Redis(port=p) for p in ports]
    for c in clients:
        c.flushdb()
        # Raw replies: compare what the servers said, not redis-py's conversions of it.
        c.response_callbacks.clear()
    failures = 0
    i = 0
    while i < ops and failures < 5:
        if rng.random() < 0.05:
            cmds = [random_command(rng) for _ in range(rng.randint(1, 4))]
            replies = []
            for c in clients:
                p = c.pipeline(transaction=True)
                for cmd in cmds:
                    p.execute_command(*cmd)
                try:
                    replies.append(normalize(p.execute(raise_on_error=False)))
                except redis.ResponseError as e:
                    replies.append("ERR:" + str(e))
            what = "MULTI " + repr(cmds)
            i += len(cmds)
        else:
            cmd = random_command(rng)
            replies = [execute(c, cmd) for c in clients]
            what = repr(cmd)
            i += 1
        if replies[0] != replies[1]:
            failures += 1
            check(False, "seed %d op %d %s: cloudkv %r, redis %r" % (seed, i, what, replies[0],
                                                                      replies[1]))
    # The final states agree too.
    for k in KEYS:
        states = [execute(c, ["TYPE", k]) for c in clients]
        check(states[0] == states[1], "seed %d final TYPE %s: %r" % (seed, k, states))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloudkv", required=True)
    parser.add_argument("--db", default="memory://types")
    args = parser.parse_args()
    workdir = harness.tempdir()
    rs = harness.start_redis(workdir)
    ckv = harness.start_cloudkv(args.cloudkv, args.db, workdir)
    try:
        got = blocking(ckv.port)
        if rs is not None:
            want = blocking(rs.port)
            for g, w in zip(got, want):
                check(g == w, "blocking %s: cloudkv %r, redis %r" % (g[0], g[1], w[1]))
            seed = int(os.environ.get("CLOUDKV_SEED", random.randrange(1 << 30)))
            ops = int(os.environ.get("CLOUDKV_TYPES_OPS", "3000"))
            print("differential seed %d (CLOUDKV_SEED=%d repeats it), %d ops" % (seed, seed, ops))
            differential([ckv.port, rs.port], seed, ops)
    finally:
        if rs is not None:
            rs.stop()
        rc = ckv.stop()
        check(rc == 0, "cloudkv exit code %s" % rc)
    return check.finish(workdir)


if __name__ == "__main__":
    sys.exit(main())
