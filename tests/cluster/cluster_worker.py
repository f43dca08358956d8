"""cluster_worker: the cluster tests' worker (tests/cluster/ctest.c).

python3 cluster_worker.py LOG: for every job it is given, appends one
line to LOG before it works, {"job": ID, "ppid": the responder that
started it, "slot": SLUICE_SLOT}, in one write (O_APPEND: the lines of
every worker of every node stay whole), so that a test counts how often
each job ran and on which node. A job then sleeps its "ms" in 50 ms
steps (progress between, so that a cancel is honoured) and answers
{"slept_ms": ms}; with "file" true it also leaves a text file "note"
naming the job (served at /jobs/ID/files/note); given an upload "doc",
a file "echo": "job ID: " and the upload's bytes. Standard library and
sluice_worker only.
"""

import json
import os
import sys
import time

import sluice_worker

LOG = sys.argv[1]


@sluice_worker.job
def run(params, inputs, out, progress):
    line = json.dumps({"job": sluice_worker._conn.job_id,
                       "ppid": os.getppid(),
                       "slot": os.environ.get("SLUICE_SLOT")}) + "\n"
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    ms = int(params.get("ms", 0) or 0)
    steps = max(1, ms // 50)
    for i in range(steps):
        time.sleep(ms / 1000.0 / steps)
        progress((i + 1) / steps)
    if "doc" in inputs:
        with open(inputs["doc"]["path"], "rb") as f:
            doc = f.read()
        with open(os.path.join(out, "echo.txt"), "wb") as f:
            f.write(b"job %s: " % sluice_worker._conn.job_id.encode() + doc)
        return {"slept_ms": ms}, [("echo", "echo.txt", "text/plain")]
    if params.get("file"):
        with open(os.path.join(out, "note.txt"), "w") as f:
            f.write("job %s\n" % sluice_worker._conn.job_id)
        return {"slept_ms": ms}, [("note", "note.txt", "text/plain")]
    return {"slept_ms": ms}


if __name__ == "__main__":
    sluice_worker.serve()
