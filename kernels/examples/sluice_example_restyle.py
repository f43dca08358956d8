"""sluice_example_restyle: restyle a photo, as a Sluice worker.

The most common GPU web app is "upload a picture, get a picture back".
This one does it on the CPU with Debian's python3-pil and python3-numpy,
so that it runs anywhere; a real one would load a model once, before it
says it is ready, in the same place. Sluice has checked the upload
already (a PNG or JPEG within max_bytes and max_pixels) and states its
EXIF orientation, which the worker applies (ImageOps.exif_transpose).

Each style is a few whole-image steps; progress is reported after each
(and the job stops at the next one when it is cancelled: progress()
raises sluice_worker.Cancelled). The result is the restyled image
(restyled.png; the job page shows it beside the upload) and the
picture's eight main colours as a download (palette.csv).

Config (the example config has it):

    restyle = {
      worker = ["/usr/bin/python3", "-m", "sluice_example_restyle"];
      locks = ["cpu"];
      timeout = 120;
      inputs = {
        photo = { type = "image"; label = "Photo"; max_bytes = 8388608;
                  max_pixels = 16777216; };
        style = { type = "choice"; choices = ["ink", "watercolour", "neon",
                  "pencil", "denoise"]; default = "ink"; };
        strength = { type = "float"; min = 0.0; max = 1.0; default = 0.6;
                     step = 0.05; };
      };
    };
"""

import csv
import os
import time

import numpy as np
from PIL import Image, ImageFilter, ImageOps

import sluice_worker


def blend(a, b, t):
    """a and b (uint8 arrays or images) mixed: t = 0 is a, t = 1 is b."""
    fa = np.asarray(a, dtype=np.float32)
    fb = np.asarray(b, dtype=np.float32)
    return np.clip(fa + (fb - fa) * t, 0, 255).astype(np.uint8)


def as_rgb(a):
    """A grey (h, w) array as (h, w, 3)."""
    return np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a


def ink(img, strength):
    grey = ImageOps.grayscale(img)
    yield "edges"
    edges = ImageOps.invert(grey.filter(ImageFilter.FIND_EDGES))
    yield "ink"
    inked = ImageOps.posterize(ImageOps.autocontrast(grey), 2)
    lines = np.minimum(np.asarray(inked), np.asarray(edges))
    yield blend(img, as_rgb(lines), strength)


def watercolour(img, strength):
    size = 3 + 2 * int(round(strength * 3))
    soft = img.filter(ImageFilter.MedianFilter(size))
    yield "washes"
    soft = soft.filter(ImageFilter.SMOOTH_MORE)
    yield "paper"
    hsv = np.asarray(soft.convert("HSV"), dtype=np.float32)
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * (1 + 0.6 * strength), 0, 255)
    wash = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    yield blend(img, wash, 0.35 + 0.65 * strength)


def neon(img, strength):
    edges = img.filter(ImageFilter.FIND_EDGES)
    yield "glow"
    glow = edges.filter(ImageFilter.GaussianBlur(2 + 6 * strength))
    yield "light"
    lit = np.clip(np.asarray(edges, dtype=np.float32) * 2.5 +
                  np.asarray(glow, dtype=np.float32) * 3.0, 0, 255)
    dark = np.asarray(img, dtype=np.float32) * (1 - strength) * 0.35
    yield np.clip(lit + dark, 0, 255).astype(np.uint8)


def pencil(img, strength):
    grey = np.asarray(ImageOps.grayscale(img), dtype=np.float32)
    yield "shading"
    blur = np.asarray(Image.fromarray(255 - grey.astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1 + 8 * strength)), dtype=np.float32)
    yield "dodge"
    sketch = np.clip(grey * 255.0 / np.maximum(255.0 - blur, 1.0), 0, 255)
    yield blend(img, as_rgb(sketch.astype(np.uint8)), 0.5 + 0.5 * strength)


def denoise(img, strength):
    size = 3 + 2 * int(round(strength * 2))
    clean = img.filter(ImageFilter.MedianFilter(size))
    yield "smoothing"
    yield blend(img, clean.filter(ImageFilter.SMOOTH), strength)


STYLES = {"ink": ink, "watercolour": watercolour, "neon": neon,
          "pencil": pencil, "denoise": denoise}
STEPS = 4   # each style yields up to three step names, then the image


def palette(img, out):
    """The eight main colours of img, as rows of palette.csv."""
    small = img.copy()
    small.thumbnail((256, 256))
    q = small.quantize(colors=8)
    counts = sorted(q.getcolors(), reverse=True)
    pal = q.getpalette()
    total = sum(c for c, _ in counts)
    with open(os.path.join(out, "palette.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rank", "hex", "share"])
        for rank, (count, index) in enumerate(counts, 1):
            r, g, b = pal[3 * index:3 * index + 3]
            w.writerow([rank, "#%02x%02x%02x" % (r, g, b),
                        "%.3f" % (count / total)])


@sluice_worker.job
def run(params, inputs, out, progress):
    t0 = time.monotonic()
    photo = inputs["photo"]
    progress(0.0, "reading %s" % (photo.get("filename") or "the photo"))
    with Image.open(photo["path"]) as src:
        upright = ImageOps.exif_transpose(src).convert("RGB")
    done = 1
    result = None
    for step in STYLES[params["style"]](upright, float(params["strength"])):
        if isinstance(step, str):
            progress(done / (STEPS + 2), step)
            done += 1
        else:
            result = Image.fromarray(as_rgb(np.asarray(step)), "RGB")
    progress((STEPS + 1) / (STEPS + 2), "saving")
    result.save(os.path.join(out, "restyled.png"), optimize=False)
    palette(result, out)
    w, h = upright.size
    return ({"style": params["style"], "strength": params["strength"],
             "width": w, "height": h,
             "orientation": photo.get("orientation", 1),
             "ms": round((time.monotonic() - t0) * 1000, 1)},
            [("restyled", "restyled.png", "image/png"),
             ("palette", "palette.csv", "text/csv")])


if __name__ == "__main__":
    sluice_worker.serve()
