#!/usr/bin/env python3
"""YuNet as libfacedetection itself runs it: the reference NETRA's own YuNet is tested against.

    python3 scripts/yunet_reference.py WIDTH HEIGHT IMAGE.rgb [--library-dir models/yunet]

IMAGE.rgb holds WIDTH x HEIGHT pixels, 3 bytes each in R, G, B order, rows top to bottom with
no padding (NETRA's `RGBImage.pixels`). The script swaps them to the B, G, R order the library
expects, calls `facedetect_cnn` of the yuface 2023.5.1 wheel's `libfacedetection.so` and prints
one JSON object:

    {"faces": [{"score": 93, "box": [x, y, w, h], "landmarks": [x0, y0, ..., x4, y4]}, ...]}

with the library's own integers: the score in percent (its sigmoid score times 100,
truncated), the box and the five landmarks truncated to whole pixels, in the library's order
(best first, every face scoring 0.2 or more).

Python standard library only (ctypes). The library's OpenMP runtime (the wheel's bundled
libgomp) is loaded first, with RTLD_GLOBAL, so that libfacedetection.so finds it; this runs in
its own process, so that runtime never meets the one oneDNN uses inside NETRA.
"""
import argparse
import ctypes
import json
import os
import sys

REPOSITORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OPENMP_RUNTIME = "libgomp-a34b3233.so.1.0.0"
LIBRARY = "libfacedetection.so"
# int *facedetect_cnn(unsigned char *result_buffer, unsigned char *bgr, int width, int height, int step)
ENTRY_POINT = "_Z14facedetect_cnnPhS_iii"
# The library's contract: a 0x20000-byte result buffer; an int count, then per face 16 shorts
# (score x 100, x, y, w, h, 10 landmark coordinates, one unused) in this build.
RESULT_BUFFER_BYTES = 0x20000
SHORTS_PER_FACE = 16
MAX_FACES = (RESULT_BUFFER_BYTES - 4) // (2 * SHORTS_PER_FACE)


def detect(library_dir, width, height, rgb):
    ctypes.CDLL(os.path.join(library_dir, OPENMP_RUNTIME), mode=ctypes.RTLD_GLOBAL)
    library = ctypes.CDLL(os.path.join(library_dir, LIBRARY))
    entry = getattr(library, ENTRY_POINT)
    entry.restype = ctypes.POINTER(ctypes.c_int)
    entry.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]

    bgr = bytearray(rgb)
    bgr[0::3], bgr[2::3] = rgb[2::3], rgb[0::3]
    image = (ctypes.c_ubyte * len(bgr)).from_buffer(bgr)
    result = (ctypes.c_ubyte * RESULT_BUFFER_BYTES)()
    count_pointer = entry(ctypes.addressof(result), ctypes.addressof(image), width, height, 3 * width)
    if not count_pointer:
        raise RuntimeError("facedetect_cnn returned no result")
    count = min(ctypes.cast(result, ctypes.POINTER(ctypes.c_int))[0], MAX_FACES)
    shorts = ctypes.cast(ctypes.byref(result, 4), ctypes.POINTER(ctypes.c_short))
    faces = []
    for index in range(count):
        row = [shorts[index * SHORTS_PER_FACE + k] for k in range(15)]
        faces.append({"score": row[0], "box": row[1:5], "landmarks": row[5:15]})
    return faces


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("width", type=int)
    parser.add_argument("height", type=int)
    parser.add_argument("image", help="raw RGB bytes, width x height x 3")
    parser.add_argument("--library-dir", default=os.path.join(REPOSITORY, "models", "yunet"))
    arguments = parser.parse_args()
    if arguments.width <= 0 or arguments.height <= 0:
        parser.error("width and height must be positive")
    with open(arguments.image, "rb") as handle:
        rgb = handle.read()
    if len(rgb) != arguments.width * arguments.height * 3:
        parser.error(f"{arguments.image} holds {len(rgb)} bytes, not {arguments.width} x {arguments.height} x 3")
    json.dump({"faces": detect(arguments.library_dir, arguments.width, arguments.height, rgb)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
