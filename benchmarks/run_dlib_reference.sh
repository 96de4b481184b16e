#!/usr/bin/env bash
# Time dlib (the reference) on the benchmark images that `netra bench vision` also times.
#
# Usage: benchmarks/run_dlib_reference.sh [SRC_IMAGE...]
#
# 1. Makes (or reuses) a throwaway venv at ${TMPDIR:-/tmp}/netra-dlib-venv with numpy,
#    Pillow and dlib-bin (a prebuilt dlib wheel), outside the repo.
# 2. Writes 640x480 and 1280x720 JPEGs of each source image into
#    ${TMPDIR:-/tmp}/netra-bench-images (prepare_images.py).
# 3. Times dlib on them (dlib_reference.py, models from models/): the table is printed
#    and the JSON is saved as dlib_reference.json beside the images.
# Default sources: ../shared/data/faces/multi/images/fr_obama_and_biden.jpg and
# ../shared/data/faces/multi/images/fr_two_people.jpg, relative to the repo root.
# DLIB_REPEAT sets the timed runs per image (default 3: the whole run stays a few
# minutes on 2 cores, as dlib's CNN detector takes seconds per image).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TMPDIR:-/tmp}/netra-dlib-venv
out=${TMPDIR:-/tmp}/netra-bench-images

if [ $# -eq 0 ]; then
    set -- "$repo/../shared/data/faces/multi/images/fr_obama_and_biden.jpg" \
           "$repo/../shared/data/faces/multi/images/fr_two_people.jpg"
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check numpy pillow dlib-bin

"$venv/bin/python" "$repo/benchmarks/prepare_images.py" "$out" "$@"

# All 640x480 files first, so the verify pair is two different photos at one size.
images=()
for size in 640x480 1280x720; do
    for src in "$@"; do
        stem=$(basename "${src%.*}")
        images+=("$out/${stem}_$size.jpg")
    done
done

cd "$repo"
"$venv/bin/python" benchmarks/dlib_reference.py --models models \
    --repeat "${DLIB_REPEAT:-3}" --json "${images[@]}" > "$out/dlib_reference.json"
echo "JSON: $out/dlib_reference.json"
