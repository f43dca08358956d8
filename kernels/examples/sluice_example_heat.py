"""sluice_example_heat: heat diffusion on a plate, as a Sluice worker.

An example of bringing your own compute (numpy): a square plate with a few
hot spots held at a fixed temperature and cold edges, stepped with the
explicit finite-difference scheme of the heat equation, rendered to a PNG
with a palette. It reports progress every few steps and stops at once when
the job is cancelled (progress() raises sluice_worker.Cancelled).

Config (the example config has it):

    heat = {
      worker = ["python3", "-m", "sluice_example_heat"];
      locks = ["cpu"];
      timeout = 60;
      inputs = {
        size = { type = "int"; min = 32; max = 512; default = 256; };
        steps = { type = "int"; min = 10; max = 5000; default = 2000; };
        alpha = { type = "float"; min = 0.05; max = 0.25; default = 0.2; };
        spots = { type = "int"; min = 1; max = 20; default = 5; };
        palette = { type = "choice"; choices = ["inferno", "ice", "grey"]; };
        seed = { type = "int"; min = 0; max = 1000000; default = 1; };
      };
    };
"""

import os
import struct
import time
import zlib

import numpy as np

import sluice_worker

# Colour stops of each palette, from cold to hot (RGB 0..255).
PALETTES = {
    "inferno": [(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9),
                (252, 255, 164)],
    "ice": [(8, 16, 48), (32, 96, 160), (120, 190, 230), (235, 248, 255)],
    "grey": [(0, 0, 0), (255, 255, 255)],
}


def write_png(path, rgb):
    """Writes an (h, w, 3) uint8 array as an 8-bit RGB PNG."""
    h, w, _ = rgb.shape
    rows = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    rows[:, 0] = 0                       # filter: none
    rows[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(tag, data):
        body = tag + data
        return (struct.pack(">I", len(data)) + body +
                struct.pack(">I", zlib.crc32(body) & 0xffffffff))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)))
        f.write(chunk(b"IEND", b""))


def colour(t, name):
    """Maps temperatures in 0..1 to RGB through the palette's stops."""
    stops = np.array(PALETTES.get(name, PALETTES["inferno"]), dtype=float)
    x = np.clip(t, 0.0, 1.0) * (len(stops) - 1)
    i = np.minimum(x.astype(int), len(stops) - 2)
    f = (x - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).astype(np.uint8)


@sluice_worker.job
def run(params, inputs, out, progress):
    n, steps = params["size"], params["steps"]
    alpha, spots = params["alpha"], params["spots"]
    rng = np.random.default_rng(params["seed"])
    t0 = time.monotonic()
    u = np.zeros((n, n))
    ys = rng.integers(n // 8, n - n // 8, spots)
    xs = rng.integers(n // 8, n - n // 8, spots)
    r = max(1, n // 40)
    every = max(1, steps // 100)
    for s in range(steps):
        for y, x in zip(ys, xs):
            u[y - r:y + r, x - r:x + r] = 1.0   # the sources stay hot
        lap = (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] -
               4 * u[1:-1, 1:-1])
        u[1:-1, 1:-1] += alpha * lap            # edges stay at 0
        if s % every == 0 or s == steps - 1:
            progress((s + 1) / steps, "step %d of %d" % (s + 1, steps))
    write_png(os.path.join(out, "heat.png"), colour(u, params["palette"]))
    return ({"ms": round((time.monotonic() - t0) * 1000, 1),
             "mean": round(float(u.mean()), 6),
             "max": round(float(u.max()), 6), "size": n, "steps": steps},
            [("image", "heat.png", "image/png")])


if __name__ == "__main__":
    sluice_worker.serve()
