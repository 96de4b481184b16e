#!/usr/bin/env python3
"""Writes the small decoder fixtures in this folder.

Every fixture shows the same 32 x 16 picture: four 16 x 8 quadrants of known colour
(QUADRANTS below), so a test can check each format by the colour at each quadrant's centre.
PNGs are written byte by byte here (every colour type, bit depths 1/8/16, Adam7 interlacing);
JPEGs need an encoder, Pillow: run with `python3 -m venv v && v/bin/pip install pillow &&
v/bin/python make_fixtures.py`.
"""
import struct
import zlib

WIDTH, HEIGHT = 32, 16
# top-left, top-right, bottom-left, bottom-right
QUADRANTS = [(200, 30, 40), (20, 180, 60), (30, 40, 210), (250, 250, 250)]
GRAYS = [50, 100, 150, 200]


def quadrant(x, y):
    return (1 if x >= WIDTH // 2 else 0) + (2 if y >= HEIGHT // 2 else 0)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def pack_row(samples, bit_depth):
    if bit_depth == 8:
        return bytes(samples)
    if bit_depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc, bits = (acc << bit_depth) | s, bits + bit_depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, color_type, bit_depth, pixel, extra=b"", interlaced=False):
    """pixel(x, y) -> tuple of samples for one pixel."""
    raw = bytearray()
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        for y in range(y0, HEIGHT, dy):
            xs = range(x0, WIDTH, dx)
            if not xs:
                continue
            raw.append(0)  # filter type None
            raw += pack_row([s for x in xs for s in pixel(x, y)], bit_depth)
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, bit_depth, color_type, 0, 0, 1 if interlaced else 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
    data += chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")
    with open(name, "wb") as f:
        f.write(data)


def rgb(x, y):
    return QUADRANTS[quadrant(x, y)]


def gray(x, y):
    return (GRAYS[quadrant(x, y)],)


write_png("rgb8.png", 2, 8, rgb)
write_png("rgba8.png", 6, 8, lambda x, y: rgb(x, y) + (x * 8,))
write_png("gray8.png", 0, 8, gray)
write_png("gray_alpha8.png", 4, 8, lambda x, y: gray(x, y) + (255 - y * 8,))
write_png("gray1.png", 0, 1, lambda x, y: (1 if quadrant(x, y) in (0, 3) else 0,))
palette = b"".join(bytes(c) for c in QUADRANTS)
write_png("palette.png", 3, 8, lambda x, y: (quadrant(x, y),),
          extra=chunk(b"PLTE", palette) + chunk(b"tRNS", bytes([255, 128, 0, 255])))
write_png("rgb16.png", 2, 16, lambda x, y: tuple(c * 257 ^ 0x5A for c in rgb(x, y)))
write_png("gray16.png", 0, 16, lambda x, y: (GRAYS[quadrant(x, y)] * 257 ^ 0x5A,))
write_png("rgb8_interlaced.png", 2, 8, rgb, interlaced=True)

try:
    from PIL import Image
except ImportError:
    raise SystemExit("PNG fixtures written; JPEG fixtures need Pillow (see the docstring)")

picture = Image.new("RGB", (WIDTH, HEIGHT))
picture.putdata([rgb(x, y) for y in range(HEIGHT) for x in range(WIDTH)])
picture.save("baseline.jpg", quality=95, subsampling=0)
picture.save("progressive.jpg", quality=95, subsampling=0, progressive=True)
picture.convert("CMYK").save("cmyk.jpg", quality=95)
grays = Image.new("L", (WIDTH, HEIGHT))
grays.putdata([GRAYS[quadrant(x, y)] for y in range(HEIGHT) for x in range(WIDTH)])
grays.save("gray.jpg", quality=95)
