#!/usr/bin/env python3
"""Make the fixed-size JPEGs that both benchmark sides time.

netra (`netra bench vision`) and the dlib reference (`dlib_reference.py`) must be
timed on byte-identical inputs, or a size or decoder difference would show up as a
speed difference. For every source image this writes two JPEGs (quality 95) into
OUT_DIR: the source centre-cropped to 4:3 and resized to 640x480, and centre-cropped
to 16:9 and resized to 1280x720, both with Pillow's LANCZOS filter. They are named
`<stem>_640x480.jpg` and `<stem>_1280x720.jpg`; each written path is printed.

Usage: prepare_images.py OUT_DIR SRC_IMAGE...
Needs only Pillow.
"""
import sys
from pathlib import Path

from PIL import Image

SIZES = [(640, 480), (1280, 720)]


def centre_crop(img, width, height):
    """Return the largest centred region of img with aspect ratio width:height."""
    w, h = img.size
    if w * height > h * width:  # too wide: trim left and right
        crop_w = round(h * width / height)
        left = (w - crop_w) // 2
        return img.crop((left, 0, left + crop_w, h))
    crop_h = round(w * height / width)  # too tall (or exact): trim top and bottom
    top = (h - crop_h) // 2
    return img.crop((0, top, w, top + crop_h))


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: prepare_images.py OUT_DIR SRC_IMAGE...")
    out_dir, sources = Path(argv[0]), [Path(p) for p in argv[1:]]
    stems = [src.stem for src in sources]
    if len(set(stems)) != len(stems):
        sys.exit("prepare_images.py: source images must have distinct file names")
    out_dir.mkdir(parents=True, exist_ok=True)
    for src in sources:
        with Image.open(src) as img:
            rgb = img.convert("RGB")
        for width, height in SIZES:
            out = out_dir / f"{src.stem}_{width}x{height}.jpg"
            resized = centre_crop(rgb, width, height).resize(
                (width, height), Image.Resampling.LANCZOS)
            resized.save(out, "JPEG", quality=95)
            print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
