#!/usr/bin/env python3
"""Hostile images against `netra detect`: writes each into a temporary folder, runs the
binary on it, and prints a Markdown table of the answer, wall time and peak memory
(RELIABILITY.md quotes it).

    python3 scripts/hostile_inputs.py [--binary .build/debug/netra]

Needs Pillow (for the photos it starts from) and the photos in ../shared/data/faces.
"""
import argparse
import io
import os
import resource
import struct
import subprocess
import tempfile
import time
import zlib

from PIL import Image

FACES = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "faces")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, raw_rows, color_type=2):
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw_rows) + chunk(b"IEND", b"")


def with_frame_size(jpeg, width, height):
    data, offset = bytearray(jpeg), 2
    while offset < len(data):
        marker = data[offset + 1]
        if marker in (0xC0, 0xC2):
            struct.pack_into(">HH", data, offset + 5, height, width)
            return bytes(data)
        offset += 2 + struct.unpack(">H", data[offset + 2:offset + 4])[0]
    raise ValueError("no frame header")


def inputs():
    photo = open(os.path.join(FACES, "public/images/face_recognition/test_obama.jpg"), "rb").read()
    small = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(small, "JPEG")
    progressive = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(progressive, "JPEG", progressive=True)
    progressive = progressive.getvalue()
    scans = [i for i in range(len(progressive) - 1) if progressive[i] == 0xFF and progressive[i + 1] == 0xDA]
    compressor = zlib.compressobj(9)
    bomb = compressor.compress(b"\0" * (65 * 64 * 3))
    for _ in range(9000):
        bomb += compressor.compress(b"\0" * (1 << 20))
    bomb += compressor.flush()
    yield "JPEG of 630 bytes whose header says 6000 x 6000", with_frame_size(small.getvalue(), 6000, 6000)
    yield "photo cut to 60 % with FF D9 appended", photo[: len(photo) * 6 // 10] + b"\xff\xd9"
    yield "progressive photo ending after its second scan", progressive[: scans[2]] + b"\xff\xd9"
    yield "PNG 64 x 64 followed by 9.2 MB of deflate bomb", png(64, 64, bomb)
    yield "PNG header 50000 x 50000", png(50000, 50000, b"")[:33]
    yield "PNG 1 x 1", png(1, 1, zlib.compress(b"\0\0\0\0"))
    yield "PNG 20000 x 2", png(20000, 2, zlib.compress(b"\0" * (2 * 60001)))
    yield "the photo itself", photo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/debug/netra")
    arguments = parser.parse_args()
    print("| input | bytes | answer | wall s | peak RSS MB |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, data in inputs():
            path = os.path.join(folder, "input")
            with open(path, "wb") as file:
                file.write(data)
            started = time.monotonic()
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            run = subprocess.run([arguments.binary, "detect", path], capture_output=True, text=True)
            elapsed = time.monotonic() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            answer = (run.stdout.strip() or run.stderr.strip()).replace(path + ": ", "").replace("netra: ", "")
            answer = answer.splitlines()[0] if answer else ""
            print(f"| {name} | {len(data)} | exit {run.returncode}: {answer} | {elapsed:.2f} | {max(peak, before) / 1024:.0f} |")


if __name__ == "__main__":
    main()
