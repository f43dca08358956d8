"""sluice_testworker: workers for Sluice's tests (python3 -m sluice_testworker MODE).

Standard library only. MODE says how it misbehaves, if at all:

  echo         answers every job with what it saw: its environment, its
               params and pid, how many jobs it has served; a job with
               "ms" sleeps that long in 50 ms steps with progress (so it
               honours cancel); "fail" text fails the job with it; a
               "crash" of true kills the worker with SIGSEGV mid-job
  slow-ready   sleeps 2 s before it says ready (a model that loads), then echo
  hang         every job sleeps for ever and ignores cancel
  exit-early   writes a line to stderr and exits 3 before ready
  garbage      answers a job with a line that is not JSON
  longline     answers a job with 2 MiB and no newline
  escape       answers with a file ../../etc/passwd
  symlink      answers with a file that is a symbolic link out of out
  image        answers with a small PNG it writes (result.png)
  files        answers with what it read of each input (bytes, sha256, the
               metadata Sluice gave) and leaves files of every kind: the
               first input copied (copy), a text file (notes.txt), HTML
               declared as text/html (page) and declared as image/png (fake)
"""

import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time
import zlib

import sluice_worker

MODE = sys.argv[1] if len(sys.argv) > 1 else "echo"
SERVED = [0]


def env_seen():
    keys = ("SLUICE_PROTOCOL", "SLUICE_FD", "SLUICE_TASK", "SLUICE_SLOT",
            "SLUICE_DEVICE", "CUDA_VISIBLE_DEVICES")
    return {k: os.environ.get(k) for k in keys}


def png_bytes(w, h):
    rows = b"".join(b"\x00" + b"".join(bytes([x * 8 % 256, y * 8 % 256, 99])
                                       for x in range(w)) for y in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@sluice_worker.job
def run(params, inputs, out, progress):
    SERVED[0] += 1
    if MODE == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    ms = int(params.get("ms", 0) or 0)
    steps = max(1, ms // 50)
    for i in range(steps):
        if ms:
            time.sleep(ms / 1000.0 / steps)
        progress((i + 1) / steps, "step %d of %d (pid %d)" % (i + 1, steps,
                 os.getpid()))
        if params.get("crash") and i == steps // 2:
            os.kill(os.getpid(), signal.SIGSEGV)
    if params.get("fail"):
        raise RuntimeError(params["fail"])
    files = []
    if MODE == "files":
        return files_answer(inputs, out)
    if MODE == "image":
        with open(os.path.join(out, "result.png"), "wb") as f:
            f.write(png_bytes(8, 6))
        files = [("image", "result.png", "image/png")]
    return {"env": env_seen(), "params": params, "pid": os.getpid(),
            "served": SERVED[0]}, files


def files_answer(inputs, out):
    seen = {}
    for name, meta in sorted(inputs.items()):
        with open(meta["path"], "rb") as f:
            data = f.read()
        seen[name] = dict(meta, read=len(data),
                          sha256=hashlib.sha256(data).hexdigest())
    files = []
    if inputs:
        first = sorted(inputs)[0]
        with open(inputs[first]["path"], "rb") as f, \
                open(os.path.join(out, "copy"), "wb") as g:
            g.write(f.read())
        files.append(("copy", "copy", inputs[first]["type"]))
    with open(os.path.join(out, "notes.txt"), "w") as f:
        f.write("seen: %s\n" % ", ".join(sorted(inputs)))
    with open(os.path.join(out, "page.html"), "w") as f:
        f.write("<script>alert(1)</script>")
    files += [("notes.txt", "notes.txt", "text/plain"),
              ("page", "page.html", "text/html"),
              ("fake", "page.html", "image/png")]
    return {"inputs": seen}, files


def raw():
    """A worker that speaks the protocol by hand, to break it."""
    sock = socket.socket(fileno=int(os.environ["SLUICE_FD"]))
    sock.sendall(b'{"type":"ready"}\n')
    buf = b""
    while b"\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
    job = json.loads(buf.split(b"\n", 1)[0])
    jid, out = job["job"], job["out"]
    if MODE == "garbage":
        sock.sendall(b"this is not json\n")
    elif MODE == "longline":
        sock.sendall(b"x" * (2 * 1024 * 1024))
    elif MODE == "escape":
        msg = {"type": "result", "job": jid, "result": {},
               "files": [{"name": "secret", "path": "../../etc/passwd",
                          "type": "text/plain"}]}
        sock.sendall(json.dumps(msg).encode() + b"\n")
    elif MODE == "symlink":
        os.symlink("/etc/hostname", os.path.join(out, "link.png"))
        msg = {"type": "result", "job": jid, "result": {},
               "files": [{"name": "image", "path": "link.png",
                          "type": "image/png"}]}
        sock.sendall(json.dumps(msg).encode() + b"\n")
    time.sleep(30)


if MODE == "slow-ready":
    time.sleep(2)
if MODE == "exit-early":
    sys.stderr.write("testworker: cannot load the model\n")
    sys.exit(3)
if MODE in ("garbage", "longline", "escape", "symlink"):
    raw()
else:
    sluice_worker.serve()
