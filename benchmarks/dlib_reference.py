#!/usr/bin/env python3
"""Time dlib, the reference implementation, on the images `netra bench vision` times.

NETRA reimplements dlib's face pipeline (docs: shared/docs/dlib-models.md). To say how
fast it is we need dlib's own numbers on the same files (made by prepare_images.py)
and split into the same stages:

  decode          PIL open + convert("RGB") + np.asarray
  detect          cnn_face_detection_model_v1(img, 0)  (MMOD, upsample 0)
  landmarks_chip  shape_predictor on the largest detection + get_face_chip(img, shape, 150, 0.25)
  embed           face_recognition_model_v1.compute_face_descriptor(chip)  (aligned 150x150 chip)
  end_to_end      all of the above for one image, timed as one

Each figure is the median in milliseconds over --repeat runs, after one warm-up run
per image. An image in which dlib finds no face has no landmarks_chip or embed time
(null), and its end_to_end covers decode and detect only. verify_pair is end_to_end
on the first two images, both timed as one measurement (median over --repeat runs).
rss_mb is the process's peak RSS once the models are loaded; rss_peak_mb is the peak
at the end. The CPU build of dlib has no thread setting, so only os.cpu_count() is
recorded.

Usage: dlib_reference.py --models MODEL_DIR [--repeat N] [--json] IMAGE...
With --json the JSON object goes to stdout and the table to stderr.
Needs numpy, Pillow and dlib (the dlib-bin package).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import dlib
import numpy as np
from PIL import Image

STAGES = ["decode", "detect", "landmarks_chip", "embed", "end_to_end"]


class Models:
    """The three dlib models NETRA uses, loaded from one directory."""

    def __init__(self, model_dir):
        model_dir = Path(model_dir)
        self.detector = dlib.cnn_face_detection_model_v1(
            str(model_dir / "mmod_human_face_detector.dat"))
        self.predictor = dlib.shape_predictor(
            str(model_dir / "shape_predictor_5_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(
            str(model_dir / "dlib_face_recognition_resnet_model_v1.dat"))


def peak_rss_mb():
    """Peak resident set size of this process so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pipeline(path, models):
    """Run the whole pipeline on one image; return ({stage: ms}, number of faces)."""
    times = {}
    start = last = time.perf_counter()

    def lap(stage):
        nonlocal last
        now = time.perf_counter()
        times[stage] = (now - last) * 1e3
        last = now

    with Image.open(path) as src:
        img = np.asarray(src.convert("RGB"))
    lap("decode")
    detections = models.detector(img, 0)
    lap("detect")
    if detections:
        largest = max(detections, key=lambda d: d.rect.area())
        shape = models.predictor(img, largest.rect)
        chip = dlib.get_face_chip(img, shape, 150, 0.25)
        lap("landmarks_chip")
        models.encoder.compute_face_descriptor(chip)
        lap("embed")
    times["end_to_end"] = (last - start) * 1e3
    return times, len(detections)


def time_image(path, models, repeat):
    """Median ms per stage over `repeat` runs after one warm-up, plus the face count."""
    _, faces = run_pipeline(path, models)
    runs = [run_pipeline(path, models)[0] for _ in range(repeat)]
    result = {stage: (round(statistics.median(r[stage] for r in runs), 3)
                      if stage in runs[0] else None)
              for stage in STAGES}
    result["faces"] = faces
    return result


def time_pair(path_a, path_b, models, repeat):
    """Median ms of end-to-end on both images of a verification pair, timed as one."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_pipeline(path_a, models)
        run_pipeline(path_b, models)
        runs.append((time.perf_counter() - start) * 1e3)
    return round(statistics.median(runs), 3)


def print_table(report, out):
    """Write the report as a fixed-width table."""
    def cell(value):
        return "-" if value is None else f"{value:.1f}"

    print(f"dlib {report['dlib_version']}, {report['cpu_count']} CPUs, "
          f"median of {report['repeat']} runs, milliseconds", file=out)
    width = max([len("image")] + [len(name) for name in report["images"]])
    print(f"{'image':<{width}}  faces" + "".join(f"  {s:>14}" for s in STAGES), file=out)
    for name, row in report["images"].items():
        print(f"{name:<{width}}  {row['faces']:>5}"
              + "".join(f"  {cell(row[s]):>14}" for s in STAGES), file=out)
    if report["verify_pair_ms"] is not None:
        print(f"verify_pair ({' + '.join(report['verify_pair_images'])}): "
              f"{cell(report['verify_pair_ms'])} ms", file=out)
    print(f"peak RSS after loading models: {report['rss_mb']:.1f} MB; "
          f"at the end: {report['rss_peak_mb']:.1f} MB", file=out)


def main():
    parser = argparse.ArgumentParser(
        description="Time dlib's face pipeline per stage (reference for netra bench vision).")
    parser.add_argument("--models", required=True, help="directory with the three dlib .dat files")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per image (default 5)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON object on stdout (the table goes to stderr)")
    parser.add_argument("images", nargs="+", help="images to time")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    models = Models(args.models)
    rss_mb = peak_rss_mb()
    images = {Path(p).name: time_image(p, models, args.repeat) for p in args.images}
    pair = args.images[:2] if len(args.images) >= 2 else None
    report = {
        "tool": "dlib",
        "dlib_version": dlib.__version__,
        "cpu_count": os.cpu_count(),
        "repeat": args.repeat,
        "images": images,
        "verify_pair_images": [Path(p).name for p in pair] if pair else None,
        "verify_pair_ms": time_pair(*pair, models, args.repeat) if pair else None,
        "rss_mb": round(rss_mb, 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
    }
    if args.json:
        print_table(report, sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print_table(report, sys.stdout)


if __name__ == "__main__":
    main()
