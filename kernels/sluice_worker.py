"""sluice_worker: write a Sluice worker in Python (worker protocol, version 1).

Sluice starts the worker once per (task, slot) and keeps it running, so
whatever is slow to load (a model, a CUDA context) is loaded once, before
the worker says it is ready. A worker is a few lines:

    import sluice_worker

    model = load_model()                      # once, before ready

    @sluice_worker.job
    def run(params, inputs, out, progress):   # progress(fraction, message)
        ...
        return {"score": 0.93}, [("image", "result.png", "image/png")]

    sluice_worker.serve()

``params`` holds the validated form values with their JSON types; ``inputs``
maps each image or file input to {"path", "type", "bytes", "filename"}
(images also "width", "height" and their EXIF "orientation", 1..8, which
the worker applies: the file is as uploaded; read it, do not change it);
``out`` is the directory to write output files into (paths in the files
list are relative to it). ``progress(fraction, message=None)`` reports
progress and raises ``Cancelled`` once the user cancelled the job, so a job
that reports progress stops by itself; ``cancelled()`` asks without
raising. Return a result dict, or (result, files) with files as
(name, path, type) tuples. An exception fails the job with its message.

Standard library only. See sluice-worker(7) for the protocol itself.
"""

import json
import os
import select
import socket
import sys
import traceback

__all__ = ["job", "serve", "cancelled", "Cancelled", "ProtocolError"]

PROTOCOL = 1
LINE_MAX = 1024 * 1024
MESSAGE_MAX = 200


class Cancelled(Exception):
    """Raised by progress() once Sluice asked to cancel the current job."""


class ProtocolError(Exception):
    """Sluice sent something this module does not understand."""


class _Connection:
    def __init__(self):
        if os.environ.get("SLUICE_PROTOCOL") != str(PROTOCOL):
            raise ProtocolError("not started by sluice (SLUICE_PROTOCOL=%r)"
                                % os.environ.get("SLUICE_PROTOCOL"))
        fd = int(os.environ.get("SLUICE_FD", "3"))
        self.sock = socket.socket(fileno=fd)
        self.buf = b""
        self.eof = False
        self.job_id = None
        self.cancel_asked = False

    def send(self, msg):
        line = json.dumps(msg, separators=(",", ":"), ensure_ascii=True)
        data = line.encode("ascii") + b"\n"
        if len(data) > LINE_MAX + 1:
            raise ProtocolError("message longer than 1 MiB")
        self.sock.sendall(data)

    def _fill(self, block):
        if not block:
            ready, _, _ = select.select([self.sock], [], [], 0)
            if not ready:
                return
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
        self.buf += data
        if len(self.buf) > LINE_MAX + 1 and b"\n" not in self.buf:
            raise ProtocolError("line from sluice over 1 MiB")

    def _take(self):
        nl = self.buf.find(b"\n")
        if nl < 0:
            return None
        line, self.buf = self.buf[:nl], self.buf[nl + 1:]
        msg = json.loads(line.decode("utf-8"))
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise ProtocolError("message without a type")
        return msg

    def _between(self, msg):
        if msg["type"] != "cancel":
            raise ProtocolError("unexpected message %r" % msg["type"])
        if msg.get("job") == self.job_id:
            self.cancel_asked = True

    def next_job(self):
        self.job_id = None
        while True:
            msg = self._take()
            while msg is None:
                if self.eof:
                    return None
                self._fill(True)
                msg = self._take()
            if msg["type"] == "job":
                self.job_id = msg["job"]
                self.cancel_asked = False
                return msg
            self._between(msg)

    def poll_cancel(self):
        if not self.cancel_asked and not self.eof:
            self._fill(False)
            msg = self._take()
            while msg is not None:
                self._between(msg)
                msg = self._take()
        return self.cancel_asked or self.eof


_conn = None
_handler = None


def job(fn):
    """Decorator: fn(params, inputs, out, progress) runs every job."""
    global _handler
    _handler = fn
    return fn


def cancelled():
    """True once Sluice asked to cancel the current job."""
    return _conn is not None and _conn.poll_cancel()


def _progress(fraction, message=None):
    try:
        fraction = min(1.0, max(0.0, float(fraction)))
    except (TypeError, ValueError):
        fraction = 0.0
    msg = {"type": "progress", "job": _conn.job_id, "fraction": fraction}
    if message is not None:
        msg["message"] = str(message)[:MESSAGE_MAX]
    _conn.send(msg)
    if _conn.poll_cancel():
        raise Cancelled()


def _files_of(files):
    out = []
    for f in files or []:
        if isinstance(f, dict):
            out.append({"name": f["name"], "path": f["path"],
                        "type": f.get("type", "application/octet-stream")})
        else:
            name, path, typ = f
            out.append({"name": name, "path": path, "type": typ})
    return out


def _answer(msg):
    try:
        value = _handler(msg.get("params", {}), msg.get("inputs", {}),
                         msg["out"], _progress)
    except Cancelled:
        return {"type": "error", "job": msg["job"], "error": "cancelled"}
    except Exception as e:  # the user's code failed: the job fails
        traceback.print_exc(file=sys.stderr)
        return {"type": "error", "job": msg["job"],
                "error": str(e) or e.__class__.__name__}
    result, files = value, []
    if isinstance(value, tuple):
        result, files = value
    if result is None:
        result = {}
    return {"type": "result", "job": msg["job"], "result": result,
            "files": _files_of(files)}


def serve(device=None):
    """Says ready and serves jobs until Sluice closes the socket."""
    global _conn
    if _handler is None:
        raise RuntimeError("no @sluice_worker.job function")
    _conn = _Connection()
    ready = {"type": "ready"}
    if device is not None:
        ready["device"] = device
    _conn.send(ready)
    while True:
        msg = _conn.next_job()
        if msg is None:
            return
        sys.stdout.flush()
        _conn.send(_answer(msg))
