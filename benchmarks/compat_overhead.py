#!/usr/bin/env python3
"""What the CompreFace and DeepStack routes cost on top of NETRA's own identify, for BENCHMARKS.md.

    python3 benchmarks/compat_overhead.py                       # 200 rounds, the release build
    python3 benchmarks/compat_overhead.py --rounds 400 --json /tmp/compat.json

It starts the release `netra serve` on a free loopback port with a fresh temporary store, a
random store key, the repository's configs/config.yaml, API keys required (as off loopback) and
the rate limit raised; creates one API key (`netra apikeys create`, scopes recognize + manage);
enrolls a gallery through NETRA's own `POST /api/v1/enroll` (multipart `image` + `name`: up to
--per-person photos of each of the 19 people of ../shared/data/faces/public, in manifest order);
then, over ONE keep-alive HTTP/1.1 connection, sequentially, sends the SAME image bytes to

    identify    POST /api/v1/identify               multipart `image`   (NETRA's own route)
    compreface  POST /api/v1/recognition/recognize  multipart `file`    (x-api-key header)
    deepstack   POST /v1/vision/face/recognize      multipart `image`   (`api_key` form field)

in rounds: after --warmup untimed rounds, each of --rounds timed rounds sends one request to
each route, the order rotated every round (identify first, then compreface first, then
deepstack first, ...) so that no route is always first or last after another. Every answer must
be 200 and the three routes must name the same people for the image (checked once before the
timed rounds: same gallery, same faces).

Per route it prints p50 / p90 / p99 of the client's wall time (request sent to last byte read)
and of the server's own time (`netra.duration_ms` of the server's request log line, which is
taken around routing, key check, body reading, analysis, search, audit write and JSON
encoding, not the socket write); per compatible route the paired overhead: for every round, its
time minus identify's time in the same round, as the median of those differences with a
bootstrap 95 % interval (2000 resamples of the rounds, fixed seed) and their interquartile
range, beside the plain difference of the medians. It also prints the server's mean detect,
embed and search time per request over the timed rounds (from /metrics) and the answer sizes.

The image is given with --image (default: the 640x480 `fr_obama_and_biden` of BENCHMARKS.md's
vision section, made by benchmarks/prepare_images.py into /tmp/netra-bench-images); its JPEG
size and SHA-256 are printed. Standard library only. Exit 1 when a request fails or the routes
disagree, 2 when the set-up fails.
"""

import argparse
import base64
import csv
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from netra_http import Server, clean_environment, free_port, multipart  # noqa: E402

FACES = os.path.join(os.path.dirname(ROOT), "shared", "data", "faces")
IMAGE = "/tmp/netra-bench-images/fr_obama_and_biden_640x480.jpg"
ROUTES = ["identify", "compreface", "deepstack"]
PATHS = {"identify": "/api/v1/identify", "compreface": "/api/v1/recognition/recognize",
         "deepstack": "/v1/vision/face/recognize"}
LOG_LINE = re.compile(r"hb\.request\.path=(\S+).*?hb\.response\.status=(\d+).*?netra\.duration_ms=([0-9.]+)")
METRICS = ["netra_detect_duration_seconds", "netra_embed_duration_seconds", "netra_search_duration_seconds"]


def percentile(values, fraction):
    """Nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def jpeg_size(data):
    """(width, height) from a JPEG's first SOF marker, or None."""
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return int.from_bytes(data[at + 7:at + 9], "big"), int.from_bytes(data[at + 5:at + 7], "big")
        at += 2 + length
    return None


def netra(binary, args, config, work, env):
    result = subprocess.run([binary, *args, "--config", config], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"netra {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[:300]}")
    return result.stdout.strip()


class Connection:
    """One keep-alive connection; `post` returns (status, body bytes, seconds)."""

    def __init__(self, port):
        self.port = port
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path, body, headers):
        start = time.perf_counter()
        self.http.request("POST", path, body=body, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start

    def get(self, path):
        self.http.request("GET", path)
        response = self.http.getresponse()
        return response.status, response.read()

    def close(self):
        self.http.close()


def requests_for(image, key, use_key):
    """route -> (path, body, headers): the same image bytes in each route's own form."""
    prepared = {}
    for route in ROUTES:
        if route == "identify":
            body, content_type = multipart({"image": ("query.jpg", image)})
        elif route == "compreface":
            body, content_type = multipart({"file": ("query.jpg", image)})
        else:
            fields = {"image": ("query.jpg", image)}
            if use_key:
                fields["api_key"] = key
            body, content_type = multipart(fields)
        headers = {"Content-Type": content_type}
        if use_key and route != "deepstack":
            headers["X-API-Key"] = key
        prepared[route] = (PATHS[route], body, headers)
    return prepared


def names(route, answer):
    """The set of people a route named in its answer."""
    if route == "identify":
        return sorted(face["candidates"][0]["name"] for face in answer["faces"] if face.get("candidates"))
    if route == "compreface":
        return sorted(face["subjects"][0]["subject"] for face in answer["result"] if face.get("subjects"))
    return sorted(p["userid"] for p in answer["predictions"] if p.get("userid") not in (None, "unknown"))


def face_count(route, answer):
    return len(answer["faces"] if route == "identify" else answer["result"] if route == "compreface" else answer["predictions"])


def metric_sums(connection):
    """metric -> (sum in seconds, count) from /metrics."""
    status, text = connection.get("/metrics")
    found = {}
    if status != 200:
        return found
    for line in text.decode("utf-8", "replace").splitlines():
        for name in METRICS:
            if line.startswith(name + "_sum") or line.startswith(name + "_count"):
                parts = line.split()
                kind = "sum" if "_sum" in parts[0] else "count"
                found.setdefault(name, {"sum": 0.0, "count": 0.0})[kind] += float(parts[-1])
    return found


def bootstrap_median(values, resamples, rng):
    """The 2.5 % and 97.5 % points of the median over resamples of `values`."""
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[min(resamples - 1, int(0.975 * resamples))]


def enroll(connection, faces, per_person, key, use_key):
    """Enrolls up to per_person photos of each public person; returns (accepted, refused, people)."""
    by_person = {}
    with open(os.path.join(faces, "public", "manifest.csv"), newline="") as handle:
        for row in csv.DictReader(handle):
            by_person.setdefault(row["identity"], []).append(row["file"])
    accepted, refused, people = 0, 0, set()
    for identity, files in by_person.items():
        name = identity.split("/", 1)[1]
        taken = 0
        for file in files:
            if taken == per_person:
                break
            with open(os.path.join(faces, "public", file), "rb") as handle:
                body, content_type = multipart({"image": (os.path.basename(file), handle.read()), "name": name})
            headers = {"Content-Type": content_type}
            if use_key:
                headers["X-API-Key"] = key
            status, data, _ = connection.post("/api/v1/enroll", body, headers)
            if status == 201:
                accepted, taken = accepted + 1, taken + 1
                people.add(name)
            elif status in (409, 422):
                refused += 1  # NETRA's enrollment rules refused the photo (several faces, too small, ...)
            else:
                raise RuntimeError(f"enroll {file}: HTTP {status}: {data[:200]!r}")
    return accepted, refused, people


def server_durations(server, skip):
    """(path, status, ms) of every request log line after the first `skip` ones."""
    server.log.flush()
    lines = []
    with open(server.log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = LOG_LINE.search(line)
            if match:
                lines.append((match.group(1), int(match.group(2)), float(match.group(3))))
    return lines[skip:]


def summary(values):
    return {"p50": percentile(values, 0.5), "p90": percentile(values, 0.9), "p99": percentile(values, 0.99),
            "mean": statistics.mean(values)}


def paired(times, route, resamples, rng):
    differences = [a - b for a, b in zip(times[route], times["identify"])]
    low, high = bootstrap_median(differences, resamples, rng)
    quartiles = statistics.quantiles(differences, n=4)
    return {"median": statistics.median(differences), "ci95": [low, high], "iqr": [quartiles[0], quartiles[2]],
            "difference_of_medians": statistics.median(times[route]) - statistics.median(times["identify"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "netra"), help="the netra binary (default: %(default)s)")
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "config.yaml"), help="netra configuration (default: %(default)s)")
    parser.add_argument("--faces", default=FACES, help="the face data folder (default: %(default)s)")
    parser.add_argument("--image", default=IMAGE, help="the query image (default: %(default)s)")
    parser.add_argument("--per-person", type=int, default=2, help="photos enrolled per public person (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=200, help="timed rounds, one request per route each (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default: %(default)s)")
    parser.add_argument("--no-api-key", action="store_true", help="serve without required API keys and send none")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="bootstrap seed (default: %(default)s)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures (and every timing) to FILE as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (store, server.log)")
    args = parser.parse_args()
    binary, config = os.path.abspath(args.binary), os.path.abspath(args.config)
    use_key = not args.no_api_key
    if not os.access(binary, os.X_OK):
        print(f"compat_overhead: no netra binary at {binary} (swift build -c release --product netra)", file=sys.stderr)
        return 2
    try:
        with open(args.image, "rb") as handle:
            image = handle.read()
    except OSError as error:
        print(f"compat_overhead: {error} (make it with benchmarks/prepare_images.py, or pass --image)", file=sys.stderr)
        return 2
    size = jpeg_size(image)

    work = tempfile.mkdtemp(prefix="netra-compat-bench-")
    port = free_port()
    env = clean_environment({
        "NETRA_SECRET_KEY": "base64:" + base64.b64encode(os.urandom(32)).decode(),
        "NETRA_DATA_DB": os.path.join(work, "netra.db"), "NETRA_MODEL_DIR": os.path.join(ROOT, "models"),
        "NETRA_MODEL_CACHE_DIR": os.path.join(work, "cache"), "NETRA_APP_HOST": "127.0.0.1", "NETRA_APP_PORT": str(port),
        "NETRA_APP_REQUIRE_API_KEY": "true" if use_key else "false",
        "NETRA_APP_RATE_LIMIT_PER_SECOND": "100000", "NETRA_APP_RATE_LIMIT_BURST": "100000",
    })
    server, connection, status = None, None, 2
    try:
        try:
            key = netra(binary, ["apikeys", "create", "--name", "compat-bench", "--scope", "recognize,manage"], config, work, env) if use_key else ""
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"compat_overhead: set-up: {error}", file=sys.stderr)
            return 2
        server = Server([binary, "serve", "--config", config], work, env, port)
        failure = server.wait_ready()
        if failure:
            print(f"compat_overhead: netra serve: {failure}", file=sys.stderr)
            return 2
        connection = Connection(port)
        try:
            accepted, refused, people = enroll(connection, args.faces, args.per_person, key, use_key)
        except (RuntimeError, OSError, http.client.HTTPException) as error:
            print(f"compat_overhead: enrollment: {error}", file=sys.stderr)
            return 2
        prepared = requests_for(image, key, use_key)
        print(f"netra serve {binary} on port {port} ({work}); API keys {'required' if use_key else 'off'}")
        print(f"gallery: {accepted} faces of {len(people)} people enrolled through POST /api/v1/enroll ({refused} photos refused by the rules)")
        print(f"query: {args.image}, {size[0] if size else '?'}x{size[1] if size else '?'}, {len(image)} bytes, "
              f"sha256 {hashlib.sha256(image).hexdigest()[:16]}...")

        status = 1
        answers = {}
        for route in ROUTES:
            path, body, headers = prepared[route]
            code, data, _ = connection.post(path, body, headers)
            if code != 200:
                print(f"compat_overhead: {route} {path}: HTTP {code}: {data[:300]!r}", file=sys.stderr)
                return 1
            answers[route] = (json.loads(data), len(data))
        for route in ROUTES:
            answer, length = answers[route]
            print(f"  {route:10s} {PATHS[route]}: {face_count(route, answer)} faces, named {names(route, answer)}, answer {length} bytes")
        if len({tuple(names(r, answers[r][0])) for r in ROUTES}) != 1 or len({face_count(r, answers[r][0]) for r in ROUTES}) != 1:
            print("compat_overhead: the routes disagree about the image", file=sys.stderr)
            return 1

        for round_number in range(args.warmup):
            for route in ROUTES:
                path, body, headers = prepared[route]
                connection.post(path, body, headers)
        logged_before = len(server_durations(server, 0))
        metrics_before = metric_sums(connection)
        logged_before += 1  # the GET /metrics line
        times = {route: [] for route in ROUTES}
        sequence = []
        for round_number in range(args.rounds):
            shift = round_number % len(ROUTES)
            for route in ROUTES[shift:] + ROUTES[:shift]:
                path, body, headers = prepared[route]
                code, data, seconds = connection.post(path, body, headers)
                if code != 200:
                    print(f"compat_overhead: round {round_number}, {route}: HTTP {code}: {data[:300]!r}", file=sys.stderr)
                    return 1
                times[route].append(seconds * 1000)
                sequence.append(route)
        metrics_after = metric_sums(connection)
        time.sleep(0.2)
        logged = [entry for entry in server_durations(server, logged_before) if entry[0] != "/metrics"]
        server_times = {route: [] for route in ROUTES}
        if len(logged) >= len(sequence) and all(entry[0] == PATHS[route] for entry, route in zip(logged, sequence)):
            for entry, route in zip(logged, sequence):
                server_times[route].append(entry[2])
        else:
            print("compat_overhead: the server's request log does not line up with the requests; server times left out", file=sys.stderr)
            server_times = None

        rng = random.Random(args.seed)
        report = {"image": args.image, "image_size": size, "image_bytes": len(image), "gallery_faces": accepted,
                  "gallery_people": len(people), "rounds": args.rounds, "warmup": args.warmup, "api_keys": use_key,
                  "answer_bytes": {r: answers[r][1] for r in ROUTES},
                  "client_ms": {r: summary(times[r]) for r in ROUTES},
                  "client_overhead_ms": {r: paired(times, r, args.resamples, rng) for r in ROUTES[1:]}}
        if server_times:
            report["server_ms"] = {r: summary(server_times[r]) for r in ROUTES}
            report["server_overhead_ms"] = {r: paired(server_times, r, args.resamples, rng) for r in ROUTES[1:]}
        per_request = len(sequence)
        report["server_stage_mean_ms_per_request"] = {
            name.replace("netra_", "").replace("_duration_seconds", ""):
                1000 * (metrics_after[name]["sum"] - metrics_before[name]["sum"]) / per_request
            for name in METRICS if name in metrics_after and name in metrics_before}

        print(f"\n{args.rounds} rounds after {args.warmup} warm-up rounds, one keep-alive connection, order rotated each round")
        print(f"{'route':12s} {'client p50':>10s} {'p90':>7s} {'p99':>7s} | {'server p50':>10s} {'p90':>7s} {'p99':>7s}  (ms)")
        for route in ROUTES:
            c = report["client_ms"][route]
            line = f"{route:12s} {c['p50']:10.2f} {c['p90']:7.2f} {c['p99']:7.2f} |"
            if server_times:
                s = report["server_ms"][route]
                line += f" {s['p50']:10.2f} {s['p90']:7.2f} {s['p99']:7.2f}"
            print(line)
        for side in ["client", "server"]:
            key_name = f"{side}_overhead_ms"
            if key_name not in report:
                continue
            for route in ROUTES[1:]:
                o = report[key_name][route]
                print(f"{side} overhead of {route} over identify: paired median {o['median']:+.2f} ms "
                      f"(bootstrap 95 % {o['ci95'][0]:+.2f} to {o['ci95'][1]:+.2f}; IQR of the differences "
                      f"{o['iqr'][0]:+.2f} to {o['iqr'][1]:+.2f}); difference of medians {o['difference_of_medians']:+.2f} ms")
        stages = report["server_stage_mean_ms_per_request"]
        print("server, mean per request over the timed rounds: " + ", ".join(f"{k} {v:.2f} ms" for k, v in stages.items()))
        print("answer sizes: " + ", ".join(f"{r} {answers[r][1]} B" for r in ROUTES))
        if args.json:
            report["client_times_ms"] = times
            if server_times:
                report["server_times_ms"] = server_times
            with open(args.json, "w") as handle:
                json.dump(report, handle, indent=1)
        status = 0
        return status
    finally:
        if connection:
            connection.close()
        if server:
            server.stop()
        if args.keep or status != 0:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
