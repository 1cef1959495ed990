"""The photo job of bench/photo/run done with Pillow: decode, orient, downscale, watermark,
encode, hash, sign; the same steps, sizes and panel as FieldKit's pipeline.

    pillow_job.py --font FONT --out DIR [--runs N] [--draft] IN.jpg...

Prints `NAME MILLISECONDS WIDTHxHEIGHT` per input (median of --runs in-process jobs; the
font is loaded once, before timing, as the app holds it) and the peak resident memory
(ru_maxrss) to stderr, like photo-bench. --draft lets libjpeg decode at a reduced DCT
scale (Pillow's `Image.draft`), the same lever FieldKit's decoder pulls.
"""

import argparse
import hashlib
import io
import json
import os
import resource
import statistics
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw, ImageFont, ImageOps

LONG_EDGE = 1920
QUALITY = 85
# FieldKit's panel geometry (core/engine/src/photo/watermark.rs).
LINES = 5
LINE_SPACING = 1.35
PADDING = 0.6
PANEL_PER_FONT = LINES * LINE_SPACING + 2 * PADDING


def panel_layout(w, h):
    font_px = min(max(min(w, h) / 40, 12), h * 0.25 / PANEL_PER_FONT)
    line_h = round(font_px * LINE_SPACING)
    pad = round(font_px * PADDING)
    return font_px, line_h, pad, min(line_h * LINES + 2 * pad, h // 4)


LINES_TEXT = [
    "{time}",
    "31.230416°N 121.473701°E  ±8 m",
    "客户 Customer  全家便利店（南京东路店）FamilyMart",
    "地址 Address  上海市黄浦区南京东路 353 号",
    "业务员 Rep  张伟 Zhang Wei    验证码 Code  7KQ2-MX4P",
]


def job(path, fonts, key, draft):
    started = time.perf_counter()
    im = Image.open(path)
    if draft:
        w, h = im.size
        s = LONG_EDGE / max(w, h)
        if s < 1:
            im.draft("RGB", (int(w * s), int(h * s)))
    im = ImageOps.exif_transpose(im)
    if im.mode != "RGB":
        im = im.convert("RGB")
    w, h = im.size
    if max(w, h) > LONG_EDGE:
        s = LONG_EDGE / max(w, h)
        im = im.resize((round(w * s), round(h * s)), Image.LANCZOS)
    w, h = im.size
    font_px, line_h, pad, panel_h = panel_layout(w, h)
    top = h - panel_h
    box = (0, top, w, h)
    im.paste(im.crop(box).point(lambda v: v * 64 // 256), box)
    draw = ImageDraw.Draw(im)
    accent = max(1, round(font_px / 8))
    draw.rectangle((0, top, w - 1, top + accent - 1), fill=(255, 176, 0))
    font = fonts.get(round(font_px))
    now = time.strftime("%Y-%m-%d %H:%M:%S UTC+08:00", time.gmtime(time.time() + 8 * 3600))
    for i, line in enumerate(LINES_TEXT):
        draw.text((pad, top + pad + i * line_h), line.format(time=now), font=font, fill=(255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=QUALITY, comment=b"fieldkit-photo/1 code=7KQ2-MX4P")
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    scene = im.crop((0, 0, w, h - h // 4)).convert("L").resize((9, 8), Image.BOX)
    px = scene.load()
    bits = 0
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | (1 if px[x, y] > px[x + 1, y] else 0)
    receipt = {"sha256": sha, "size_bytes": len(data), "width": w, "height": h, "dhash": f"{bits:016x}"}
    canonical = json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode()
    signature = key.sign(canonical)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, data, receipt, signature, (w, h)


class Fonts:
    def __init__(self, path):
        self.path = path
        self.cache = {}

    def get(self, size):
        if size not in self.cache:
            self.cache[size] = ImageFont.truetype(self.path, size, index=0)
        return self.cache[size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--font", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--draft", action="store_true")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    fonts = Fonts(args.font)
    fonts.get(36)  # loaded before timing, as the app holds its font
    key = Ed25519PrivateKey.from_private_bytes(b"\x42" * 32)
    for path in args.inputs:
        name = os.path.splitext(os.path.basename(path))[0]
        times = []
        for _ in range(args.runs):
            elapsed, data, receipt, signature, (w, h) = job(path, fonts, key, args.draft)
            times.append(elapsed)
        with open(os.path.join(args.out, name + ".jpg"), "wb") as f:
            f.write(data)
        with open(os.path.join(args.out, name + ".receipt.json"), "w") as f:
            json.dump({"receipt": receipt, "signature": signature.hex()}, f)
        print(f"{name} {statistics.median(times):.1f} {w}x{h}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
