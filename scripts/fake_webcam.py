#!/usr/bin/env python3
"""Y4M videos made of still photos, for Chromium's fake webcam.

    python scripts/fake_webcam.py OUT.y4m PHOTO[:FRAMES] [PHOTO[:FRAMES] ...] [--fps 10]

Chromium plays such a file as the camera and loops it:
`chromium --use-fake-device-for-media-stream --use-fake-ui-for-media-stream
--use-file-for-fake-video-capture=OUT.y4m`. The file is YUV4MPEG2, 640x480, 4:2:0 (`C420jpeg`:
limited-range BT.601 YCbCr, chroma sited between the luma samples), one
uncompressed frame after another (460 KB a frame, 4.6 MB a second at 10 fps).

Each photo becomes one 640x480 frame shown for FRAMES frames: either letterboxed whole (grey
bars), or, when a face box is given, cropped to a 4:3 region around the face so the face
takes a fixed share of the frame height (outside the photo the region is grey). console_browser.py
imports `Shot` and `write_y4m`; the command line is for looking at a video by hand.
"""

import argparse
import os
import sys

from PIL import Image, ImageOps

WIDTH, HEIGHT = 640, 480
GREY = (128, 128, 128)


class Shot:
    """One photo as one video frame, held for `frames` frames.

    face: (left, top, right, bottom) of the face in the photo's pixels, e.g. NETRA's detect
    bbox; the frame is then the 4:3 region centred on the face whose height is
    face height / face_share. mirror: flip the photo left-right first (the box is given in
    the unflipped photo)."""

    def __init__(self, path, frames=5, face=None, face_share=0.42, mirror=False):
        self.path, self.frames, self.face, self.face_share, self.mirror = path, frames, face, face_share, mirror

    def image(self):
        with Image.open(self.path) as source:
            photo = ImageOps.exif_transpose(source).convert("RGB")
        face = self.face
        if self.mirror:
            photo = ImageOps.mirror(photo)
            if face:
                face = (photo.width - face[2], face[1], photo.width - face[0], face[3])
        if not face:
            return ImageOps.pad(photo, (WIDTH, HEIGHT), method=Image.Resampling.LANCZOS, color=GREY)
        left, top, right, bottom = face
        height = (bottom - top) / self.face_share
        width = height * WIDTH / HEIGHT
        cx, cy = (left + right) / 2, (top + bottom) / 2
        # A little above the centre: a face sits in the upper half of a camera frame.
        box = (cx - width / 2, cy - height * 0.45, cx + width / 2, cy + height * 0.55)
        canvas = Image.new("RGB", (round(width), round(height)), GREY)
        region = photo.crop(tuple(round(v) for v in box))  # zero (black) outside the photo
        inside = Image.new("L", photo.size, 255).crop(tuple(round(v) for v in box))
        canvas.paste(region.resize(canvas.size), (0, 0), inside.resize(canvas.size))
        return canvas.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


# Chromium reads Y4M as limited ("studio") range BT.601, Y 16-235 and Cb/Cr 16-240: Pillow's
# full-range YCbCr written as is plays back with 14 % more contrast, so it is scaled down.
LUMA = [round(16 + v * 219 / 255) for v in range(256)]
CHROMA = [round(128 + (v - 128) * 224 / 255) for v in range(256)]
FULL_LUMA = [min(255, max(0, round((v - 16) * 255 / 219))) for v in range(256)]
FULL_CHROMA = [min(255, max(0, round(128 + (v - 128) * 255 / 224))) for v in range(256)]


def yuv420(image):
    """The Y, Cb and Cr planes (bytes, limited range) of an RGB image, chroma averaged over
    2x2 blocks."""
    y, cb, cr = image.convert("YCbCr").split()
    half = (image.width // 2, image.height // 2)
    cb, cr = (plane.resize(half, Image.Resampling.BOX).point(CHROMA) for plane in (cb, cr))
    return y.point(LUMA).tobytes(), cb.tobytes(), cr.tobytes()


def write_y4m(path, shots, fps=10):
    """Writes the shots, in order, as one Y4M video; returns (frames written, seconds)."""
    frames = 0
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for shot in shots:
            planes = b"".join(yuv420(shot.image()))
            for _ in range(shot.frames):
                out.write(b"FRAME\n")
                out.write(planes)
                frames += 1
    return frames, frames / fps


def read_y4m_frame(path, index=0):
    """Frame `index` of a Y4M file this module wrote, as an RGB image (to look at a video)."""
    with open(path, "rb") as handle:
        header = handle.readline().split()
        width = int(next(h for h in header if h.startswith(b"W"))[1:])
        height = int(next(h for h in header if h.startswith(b"H"))[1:])
        size = width * height * 3 // 2
        handle.seek(index * (6 + size), os.SEEK_CUR)
        if handle.readline() != b"FRAME\n":
            raise ValueError(f"{path}: no frame {index}")
        data = handle.read(size)
    y = Image.frombytes("L", (width, height), data[:width * height]).point(FULL_LUMA)
    quarter = width * height // 4
    cb = Image.frombytes("L", (width // 2, height // 2), data[width * height:width * height + quarter]).resize((width, height))
    cr = Image.frombytes("L", (width // 2, height // 2), data[width * height + quarter:]).resize((width, height))
    return Image.merge("YCbCr", (y, cb.point(FULL_CHROMA), cr.point(FULL_CHROMA))).convert("RGB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the .y4m file to write")
    parser.add_argument("photos", nargs="+", help="PHOTO or PHOTO:FRAMES (default 5 frames), letterboxed")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--png", help="also write the first frame as this PNG")
    args = parser.parse_args()
    shots = []
    for item in args.photos:
        path, _, frames = item.partition(":")
        shots.append(Shot(path, int(frames or 5)))
    frames, seconds = write_y4m(args.out, shots, args.fps)
    if args.png:
        read_y4m_frame(args.out).save(args.png)
    print(f"{args.out}: {frames} frames, {seconds:.1f} s at {args.fps} fps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
