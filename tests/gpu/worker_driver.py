#!/usr/bin/env python3
"""Drives sluice-worker through the worker protocol, as the responder does,
for tests/gpu/run (standard library only: it runs on a bare GPU host).

  worker_driver.py --bin DIR [--device cuda:0|cpu] latency [--jobs N]
      For each kernel: the time from start to ready, and of each job
      (sent -> result), with the worker's warm-up (the default) and
      without it (SLUICE_WORKER_WARM=0): the first-job latency figure.
  worker_driver.py --bin DIR [--device cuda:0] broken-context
      A job that breaks the CUDA context (SLUICE_TEST_FAULT_ONCE) fails,
      the worker exits, and a fresh worker serves the next job.

Prints one line per figure and ends with one JSON line; exits 0 when the
checks held, 1 when one failed, 2 on a usage or start error.
"""

import argparse
import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# Each kernel's jobs: a typical one (what the latency figure times).
JOBS = {
    "mandelbrot": {"cx": -0.5, "cy": 0.0, "scale": 3.0, "width": 800,
                   "height": 600, "iters": 500},
    "sgemm": {"n": 1024, "seed": 1},
    "burn": {"ms": 20},
}


class WorkerError(Exception):
    pass


class Worker:
    """One sluice-worker process and its end of the protocol socket."""

    def __init__(self, binary, kernel, device, extra_env=None):
        self.kernel = kernel
        self.scratch = tempfile.mkdtemp(prefix="sluice-drv-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        env.update({
            "SLUICE_PROTOCOL": "1", "SLUICE_FD": "3",
            "SLUICE_TASK": kernel, "SLUICE_SLOT": "0",
            "SLUICE_DEVICE": device,
            "CUDA_VISIBLE_DEVICES": "0" if device.startswith("cuda") else "",
        })
        env.update(extra_env or {})
        self.stderr = open(os.path.join(self.scratch, "stderr"), "w+")
        fd = theirs.fileno()

        def to_fd3():
            # Our descriptors are close-on-exec (PEP 446): only fd 3 passes.
            if fd == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(fd, 3)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "--kernel", kernel], env=env, cwd=self.scratch,
            stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr,
            close_fds=False, preexec_fn=to_fd3)
        theirs.close()
        self.sock = ours
        self.buf = b""

    def read(self, timeout):
        """The next message, or None at EOF; WorkerError on a timeout."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise WorkerError("no message within %.0f s" % timeout)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def ready(self, timeout=120):
        """Waits for ready; returns ms since start."""
        m = self.read(timeout)
        if m is None or m.get("type") != "ready":
            raise WorkerError("expected ready, got %r (log: %s)"
                              % (m, self.log()))
        return (time.monotonic() - self.t0) * 1e3

    def job(self, params, timeout=120):
        """Runs one job; returns (ms, final message)."""
        jid = secrets.token_hex(16)
        out = tempfile.mkdtemp(dir=self.scratch)
        msg = {"type": "job", "job": jid, "params": params, "inputs": {},
               "out": out}
        t = time.monotonic()
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            m = self.read(timeout)
            if m is None:
                raise WorkerError("worker closed during the job (log: %s)"
                                  % self.log())
            if m.get("type") in ("result", "error") and m.get("job") == jid:
                return (time.monotonic() - t) * 1e3, m

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self, only=None):
        """The worker's stderr on one line (only the lines with one of
        the strings in only)."""
        self.stderr.flush()
        self.stderr.seek(0)
        lines = self.stderr.read().strip().split("\n")
        return " | ".join(x for x in lines
                          if only is None or any(o in x for o in only))

    def close(self):
        self.sock.close()
        if self.wait_exit(30) is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def latency(args):
    """The first-job latency figure, warm (default) and cold."""
    report = {"device": args.device, "kernels": {}}
    for kernel, params in JOBS.items():
        for mode, env in (("warm", {}), ("cold", {"SLUICE_WORKER_WARM": "0"})):
            w = Worker(args.worker, kernel, args.device, env)
            try:
                ready = w.ready()
                times, last = [], None
                for _ in range(args.jobs):
                    ms, last = w.job(params)
                    if last["type"] != "result":
                        raise WorkerError("job failed: %s" % last.get("error"))
                    times.append(ms)
            finally:
                log = w.log(("warm-up", "context ready"))
                w.close()
            report["kernels"].setdefault(kernel, {})[mode] = {
                "ready_ms": round(ready, 1),
                "jobs_ms": [round(t, 1) for t in times],
                "result": last.get("result"), "log": log}
            print("first-job latency %s %s on %s: ready %.0f ms, jobs %s ms"
                  " (first - second: %+.1f ms)" % (
                      kernel, mode, args.device, ready,
                      ", ".join("%.1f" % t for t in times),
                      times[0] - times[1] if len(times) > 1 else 0.0))
    print(json.dumps(report))
    return 0


def broken_context(args):
    """A job breaks the context; the worker ends; a fresh one serves."""
    if not args.device.startswith("cuda:"):
        print("broken context: needs a CUDA device, not %s" % args.device)
        return 2
    fd, flag = tempfile.mkstemp(prefix="sluice-fault-")
    os.close(fd)
    env = {"SLUICE_TEST_FAULT_ONCE": flag}
    verdict = {"check": "broken-context", "device": args.device}
    ok = False
    w = Worker(args.worker, "burn", args.device, env)
    try:
        w.ready()
        _, m = w.job({"ms": 10})
        verdict["faulted_job"] = m
        status = w.wait_exit(20)
        verdict["exit_status"] = status
        verdict["first_log"] = w.log()
    finally:
        w.close()
    w2 = Worker(args.worker, "burn", args.device, env)
    try:
        w2.ready()
        _, m2 = w2.job({"ms": 50})
        verdict["next_job"] = m2
    finally:
        w2.close()
    if os.path.exists(flag):
        os.unlink(flag)
    ok = (m.get("type") == "error" and "CUDA error" in m.get("error", "")
          and status == 3 and m2.get("type") == "result")
    verdict["pass"] = ok
    print("broken context: %s: the faulted job: %s; the worker exited "
          "with %s; a fresh worker's next job: %s" % (
              "PASS" if ok else "FAIL",
              m.get("error") or m.get("type"), status,
              "result" if m2.get("type") == "result" else m2))
    print(json.dumps(verdict))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True,
                   help="the directory with sluice-worker")
    p.add_argument("--device", default="cuda:0")
    sub = p.add_subparsers(dest="cmd", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--jobs", type=int, default=3)
    sub.add_parser("broken-context")
    args = p.parse_args()
    args.worker = os.path.join(args.bin, "sluice-worker")
    if not os.access(args.worker, os.X_OK):
        print("worker_driver: %s: not an executable" % args.worker,
              file=sys.stderr)
        return 2
    try:
        return latency(args) if args.cmd == "latency" else \
            broken_context(args)
    except (WorkerError, OSError, ValueError) as e:
        print("worker_driver: %s: %s" % (args.cmd, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
