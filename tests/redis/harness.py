# SPDX-License-Identifier: Apache-2.0
"""Starts real servers for the Redis-protocol tests: `cloudkv serve` and, for comparison,
Debian's redis-server. Ports are picked dynamically; nothing uses 6379."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d" % port)


class Server:
    """A running server: .port, .stop(), .kill()."""

    def __init__(self, argv, port, cwd, log_path, env=None, preexec_fn=None):
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, preexec_fn=preexec_fn)
        wait_port(port, self.proc)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


def start_cloudkv(binary, db_url, workdir, extra=(), port=None, env=None, preexec_fn=None):
    """env: the server's environment (default: this one); preexec_fn: run in the child before
    exec (e.g. to lower RLIMIT_NOFILE)."""
    port = port or free_port()
    argv = [binary, "serve", "--db", db_url, "--port", str(port)] + list(extra)
    return Server(argv, port, workdir, os.path.join(workdir, "cloudkv-%d.log" % port), env=env,
                  preexec_fn=preexec_fn)


def start_redis(workdir, extra=()):
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", workdir] + list(extra)
    return Server(argv, port, workdir, os.path.join(workdir, "redis-%d.log" % port))


def tempdir():
    return tempfile.mkdtemp(prefix="cloudkv-server-test-")


class Checks:
    """The failures of one test script. check(cond, what) records a failure (and, verbose,
    each pass); finish(workdir) prints the count, removes workdir if all passed and returns the
    script's exit code."""

    def __init__(self, verbose=False):
        self.failures = []
        self.verbose = verbose

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL", what)
        elif self.verbose:
            print("ok  ", what)

    def finish(self, workdir):
        print("%d failure(s)" % len(self.failures))
        if not self.failures:
            shutil.rmtree(workdir, ignore_errors=True)
        return 1 if self.failures else 0
