#!/usr/bin/env python3
"""A mixed load test of a live `netra serve` (standard library only).

    python3 scripts/load_test.py                  # 60 s, 6 client threads, the debug build
    python3 scripts/load_test.py --soak 600       # the 10-minute soak: the same, for 600 s
    python3 scripts/load_test.py --binary .build/release/netra --seconds 120 --threads 8

It starts `netra serve` itself on a free loopback port with a fresh temporary database and a
random store key (configuration: the repository's configs/config.yaml, the rate limit raised so
that the test measures the service, not the limiter), waits for GET /ready, then for the given
time runs client threads that each loop over a weighted mix of requests on real public photos
(../shared/data/faces):

    verify          POST /api/v1/verify (two single-face photos)
    identify        POST /api/v1/identify (a single-face or a group photo)
    enroll          POST /api/v1/enroll by name: a face of one of a few public identities, or a
                    first face under a new "visitor" name
    delete_face     DELETE /api/v1/subjects/{id}/faces/{face_id} of a face enrolled earlier
    delete_subject  DELETE /api/v1/subjects/{id} of a visitor subject enrolled earlier
    list_subjects   GET /api/v1/subjects (a page)

Assertions (exit 1 when any fails, 2 when the set-up fails):
  - no 5xx, ever; no connection error;
  - every 503 and every 429 carries a Retry-After header (429s are counted: with the raised
    limit there should be none);
  - every other status is one the request may legitimately get (verify/identify/list 200,
    enroll 201, or 409/422 when NETRA's enrollment rules refuse a photo, deletes 200);
  - acknowledged = durable: the faces answered 201, minus those whose deletion was answered
    200, are what GET /api/v1/subjects counts and lists; then the server is killed with SIGKILL
    and `netra db check` must pass on its database with exactly that many faces;
  - the resident memory of the server (VmRSS of /proc/<pid>/status, read every second) stays
    under --max-rss-mb.

It prints a table per request type (count, requests/s, status counts, p50/p95/max latency in
ms), the peak RSS and every violation. --json FILE also writes the figures as JSON.
"""

import argparse
import base64
import http.client
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from netra_http import Server, clean_environment, free_port, multipart

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(os.path.dirname(ROOT), "shared", "data", "faces")

# Single-face photos of public identities (public/images/...), each of which NETRA's enrollment
# rules accept (one face, box over 80 px, confidence over 0.5): the enrollment and verify set.
IDENTITIES = {
    "obama": ["face_recognition/test_obama.jpg", "face_recognition/test_obama2.jpg", "face_recognition/test_obama3.jpg",
              "face_recognition/obama-720p.jpg", "face_recognition/knn_test_obama1.jpg"],
    "biden": ["face_recognition/test_biden.jpg", "face_recognition/knn_train_biden_biden2.jpg"],
    "alex_lacamoire": ["face_recognition/alex-lacamoire.png", "face_recognition/knn_train_alex_lacamoire_img1.jpg",
                       "face_recognition/knn_test_alex_lacamoire1.jpg"],
    "kit_harington": ["face_recognition/knn_train_kit_harington_john1.jpeg", "face_recognition/knn_train_kit_harington_john2.jpeg",
                      "face_recognition/knn_test_johnsnow_test1.jpg"],
    "rose_leslie": ["face_recognition/knn_train_rose_leslie_img1.jpg", "face_recognition/knn_train_rose_leslie_img2.jpg"],
    "angelina": ["deepface/img1.jpg", "deepface/img2.jpg", "deepface/img4.jpg", "deepface/img5.jpg", "deepface/img6.jpg"],
    "scarlett": ["deepface/img8.jpg", "deepface/img9.jpg", "deepface/img47.jpg", "deepface/img48.jpg"],
    "mark": ["deepface/img13.jpg", "deepface/img14.jpg", "deepface/img15.jpg"],
    "elon": ["deepface/img18.jpg", "deepface/img19.jpg"],
    "jeff": ["deepface/img20.jpg", "deepface/img21.jpg"],
    "sundar": ["deepface/img24.jpg", "deepface/img25.jpg"],
}
# Group photos (multi/images/...) identify is also asked about, one without any face.
GROUPS = ["fr_obama_and_biden.jpg", "fr_kit_with_rose.jpg", "dlib_2008_001009.jpg", "deepface_couple.jpg", "dlib_dogs.jpg"]

# Request types and their weights in the mix.
MIX = [("verify", 3), ("identify", 3), ("enroll", 2), ("delete_face", 1), ("delete_subject", 0.5), ("list_subjects", 1)]
# Statuses each type may legitimately get, apart from 429 and 503 with Retry-After.
EXPECTED = {
    "verify": {200}, "identify": {200}, "list_subjects": {200}, "delete_face": {200}, "delete_subject": {200},
    "enroll": {201, 409, 422},  # 409 does not look like the subject, 422 a rule refused the photo
}


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]  # nearest rank


def finite(value):
    return None if math.isnan(value) else value


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Ledger:
    """What the server acknowledged: enrolled faces (per subject) and deletions, thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faces = {}            # face id -> subject id, every face answered 201
        self.deleted_faces = set()  # face ids whose DELETE was answered 200
        self.deleted_subjects = set()
        self.visitors = []         # visitor subject ids not yet picked for deletion
        self.removable = []        # (subject id, face id) of identities' faces not yet picked for deletion
        self.faces_of = {}         # subject id -> live face count known to us
        self.visitor_count = 0

    def enrolled(self, subject_id, face_id, visitor):
        with self.lock:
            self.faces[face_id] = subject_id
            self.faces_of[subject_id] = self.faces_of.get(subject_id, 0) + 1
            (self.visitors.append(subject_id) if visitor else self.removable.append((subject_id, face_id)))

    def next_visitor_name(self):
        with self.lock:
            self.visitor_count += 1
            return f"visitor-{self.visitor_count}"

    def take_face(self, rng):
        """A face to delete; never a subject's last face (identify keeps something to find)."""
        with self.lock:
            candidates = [i for i, (subject, _) in enumerate(self.removable) if self.faces_of.get(subject, 0) > 1]
            if not candidates:
                return None
            subject, face = self.removable.pop(rng.choice(candidates))
            self.faces_of[subject] -= 1
            return subject, face

    def give_back_face(self, subject, face):
        with self.lock:
            self.removable.append((subject, face))
            self.faces_of[subject] += 1

    def face_deleted(self, face):
        with self.lock:
            self.deleted_faces.add(face)

    def take_visitor(self, rng):
        with self.lock:
            if not self.visitors:
                return None
            return self.visitors.pop(rng.randrange(len(self.visitors)))

    def give_back_visitor(self, subject):
        with self.lock:
            self.visitors.append(subject)

    def subject_deleted(self, subject):
        with self.lock:
            self.deleted_subjects.add(subject)

    def surviving(self):
        """face id -> subject id of every acknowledged face not acknowledged as deleted."""
        with self.lock:
            return {face: subject for face, subject in self.faces.items()
                    if face not in self.deleted_faces and subject not in self.deleted_subjects}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {name: [] for name, _ in MIX}
        self.statuses = {name: {} for name, _ in MIX}
        self.violations = []
        self.retry_after_missing = 0

    def record(self, kind, status, seconds):
        with self.lock:
            self.latencies[kind].append(seconds * 1000)
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1

    def violation(self, message):
        with self.lock:
            if len(self.violations) < 200:
                self.violations.append(message)


class Client(threading.Thread):
    def __init__(self, number, server, photos, groups, ledger, stats, deadline, seed):
        super().__init__(name=f"client-{number}", daemon=True)
        self.server, self.photos, self.groups = server, photos, groups
        self.ledger, self.stats, self.deadline = ledger, stats, deadline
        self.rng = random.Random(seed)
        self.connection = None
        self.kinds = [name for name, _ in MIX]
        self.weights = [weight for _, weight in MIX]

    def request(self, kind, method, path, body=None, content_type=None):
        """One request; returns (status, parsed JSON or None), or None after a connection error."""
        headers = {"Content-Type": content_type} if content_type else {}
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)
            started = time.monotonic()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError) as error:
                self.connection.close()
                self.connection = None
                # A kept-alive connection the server closed while idle may fail before any byte of
                # the request was answered: retry once on a new connection, then it is an error.
                if attempt == 0 and isinstance(error, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                    continue
                self.stats.record(kind, "conn-error", time.monotonic() - started)
                self.stats.violation(f"{kind}: {method} {path}: connection error {error!r}")
                return None
            elapsed = time.monotonic() - started
            status = response.status
            self.stats.record(kind, status, elapsed)
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            try:
                answer = json.loads(data) if data else None
            except ValueError:
                answer = None
            if status >= 500 and status != 503:
                self.stats.violation(f"{kind}: {method} {path}: {status} {data[:200]!r}")
            elif status in (429, 503):
                retry_after = response.getheader("Retry-After")
                if retry_after is None:
                    with self.stats.lock:
                        self.stats.retry_after_missing += 1
                    self.stats.violation(f"{kind}: {method} {path}: {status} without Retry-After")
                else:
                    try:
                        time.sleep(min(float(retry_after), 1.0))
                    except ValueError:
                        self.stats.violation(f"{kind}: {status} with a Retry-After that is not a number: {retry_after!r}")
            elif status not in EXPECTED[kind]:
                self.stats.violation(f"{kind}: {method} {path}: unexpected {status} {data[:200]!r}")
            return status, answer
        return None

    def form(self, kind, path, fields):
        body, content_type = multipart(fields)
        return self.request(kind, "POST", path, body, content_type)

    def photo(self):
        identity = self.rng.choice(list(self.photos))
        name, data = self.rng.choice(self.photos[identity])
        return identity, name, data

    def run(self):
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            getattr(self, kind)()
        if self.connection is not None:
            self.connection.close()

    def verify(self):
        (_, name1, data1), (_, name2, data2) = self.photo(), self.photo()
        self.form("verify", "/api/v1/verify", {"image1": (name1, data1), "image2": (name2, data2)})

    def identify(self):
        if self.rng.random() < 0.25:
            name, data = self.rng.choice(self.groups)
        else:
            _, name, data = self.photo()
        self.form("identify", "/api/v1/identify", {"image": (name, data)})

    def enroll(self):
        identity, name, data = self.photo()
        visitor = self.rng.random() < 0.3
        subject_name = self.ledger.next_visitor_name() if visitor else identity
        result = self.form("enroll", "/api/v1/enroll", {"image": (name, data), "name": subject_name})
        if result and result[0] == 201:
            answer = result[1] or {}
            subject = (answer.get("subject") or {}).get("id")
            face = (answer.get("face") or {}).get("id")
            if not isinstance(subject, int) or not isinstance(face, int):
                self.stats.violation(f"enroll: 201 without subject and face ids: {answer!r:.200}")
                return
            self.ledger.enrolled(subject, face, visitor)

    def delete_face(self):
        picked = self.ledger.take_face(self.rng)
        if picked is None:
            return self.list_subjects()
        subject, face = picked
        result = self.request("delete_face", "DELETE", f"/api/v1/subjects/{subject}/faces/{face}")
        if result and result[0] == 200:
            self.ledger.face_deleted(face)
        else:
            self.ledger.give_back_face(subject, face)

    def delete_subject(self):
        subject = self.ledger.take_visitor(self.rng)
        if subject is None:
            return self.list_subjects()
        result = self.request("delete_subject", "DELETE", f"/api/v1/subjects/{subject}")
        if result and result[0] == 200:
            self.ledger.subject_deleted(subject)
        else:
            self.ledger.give_back_visitor(subject)

    def list_subjects(self):
        offset = self.rng.choice([0, 0, 0, 20, 50])
        self.request("list_subjects", "GET", f"/api/v1/subjects?limit=50&offset={offset}")


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(name="rss", daemon=True)
        self.pid = pid
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            value = rss_kb(self.pid)
            if value is not None:
                self.samples.append((time.monotonic(), value))
            self.stopped.wait(1.0)

    @property
    def peak_mb(self):
        return max((kb for _, kb in self.samples), default=0) / 1024


def get_json(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def check_durability(server, ledger, stats):
    """The acknowledged faces against what the server lists: (expected faces, listed faces)."""
    surviving = ledger.surviving()
    listed_faces, subjects, offset = 0, [], 0
    while True:
        status, page = get_json(server.port, f"/api/v1/subjects?limit=1000&offset={offset}")
        if status != 200:
            stats.violation(f"final GET /api/v1/subjects answered {status}")
            return len(surviving), None
        subjects += page["subjects"]
        offset += len(page["subjects"])
        if not page["subjects"] or offset >= page["total"]:
            break
    listed_faces = sum(subject["face_count"] for subject in subjects)
    if listed_faces != len(surviving):
        stats.violation(f"the server lists {listed_faces} faces; it acknowledged {len(ledger.faces)} enrollments and "
                        f"{len(ledger.deleted_faces)} face deletions ({len(ledger.deleted_subjects)} subjects deleted): "
                        f"{len(surviving)} expected")
    # Every acknowledged face that was not deleted must be findable under its subject.
    by_subject = {}
    for face, subject in surviving.items():
        by_subject.setdefault(subject, set()).add(face)
    missing = []
    for subject, faces in sorted(by_subject.items()):
        status, answer = get_json(server.port, f"/api/v1/subjects/{subject}")
        found = {face["id"] for face in (answer or {}).get("faces", [])} if status == 200 else set()
        missing += sorted(faces - found)
    if missing:
        stats.violation(f"{len(missing)} acknowledged faces are not listed under their subject: {missing[:10]}")
    return len(surviving), listed_faces


def load_photos(faces_folder):
    photos, missing = {}, []
    for identity, files in IDENTITIES.items():
        for file in files:
            path = os.path.join(faces_folder, "public", "images", file)
            if not os.path.exists(path):
                missing.append(path)
                continue
            with open(path, "rb") as handle:
                photos.setdefault(identity, []).append((os.path.basename(file), handle.read()))
    groups = []
    for file in GROUPS:
        path = os.path.join(faces_folder, "multi", "images", file)
        if not os.path.exists(path):
            missing.append(path)
            continue
        with open(path, "rb") as handle:
            groups.append((file, handle.read()))
    return photos, groups, missing


def print_summary(stats, seconds, peak_mb, rss_bound, expected_faces, listed_faces, checked):
    statuses = sorted({str(s) for per in stats.statuses.values() for s in per}, key=lambda s: (not s.isdigit(), s))
    header = f"{'request':<15} {'count':>6} {'req/s':>6} " + " ".join(f"{s:>6}" for s in statuses) + \
        f" {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    total = 0
    for kind, _ in MIX:
        values = stats.latencies[kind]
        total += len(values)
        counts = " ".join(f"{stats.statuses[kind].get(int(s) if s.isdigit() else s, 0):>6}" for s in statuses)
        print(f"{kind:<15} {len(values):>6} {len(values) / seconds:>6.2f} {counts} "
              f"{percentile(values, 0.5):>8.1f} {percentile(values, 0.95):>8.1f} {max(values, default=float('nan')):>8.1f}")
    print("-" * len(header))
    print(f"{'all':<15} {total:>6} {total / seconds:>6.2f}")
    print(f"load phase: {seconds:.1f} s; peak server RSS {peak_mb:.0f} MB (bound {rss_bound} MB)")
    print(f"faces: {expected_faces} acknowledged and not deleted, {listed_faces} listed by the server, "
          f"netra db check after SIGKILL: {checked}")
    if stats.violations:
        print(f"\n{len(stats.violations)} violation(s):")
        for violation in stats.violations:
            print(f"  - {violation}")
    else:
        print("no violations")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "netra"), help="the netra binary (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load phase (default: %(default)s)")
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="a soak run: the same test for SECONDS (e.g. 600, the 10-minute soak)")
    parser.add_argument("--threads", type=int, default=6, help="client threads (default: %(default)s)")
    parser.add_argument("--max-rss-mb", type=int, default=2000,
                        help="bound on the server's peak resident memory in MB (default: %(default)s: the debug build peaked "
                             "at 1146-1287 MB in 60 s runs on the project's 2-core machine, x1.5, rounded up)")
    parser.add_argument("--faces", default=FACES, help="the face data folder (default: %(default)s)")
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "config.yaml"), help="netra configuration (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix (default: %(default)s)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server.log)")
    args = parser.parse_args()
    seconds = args.soak if args.soak is not None else args.seconds
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"load_test: no netra binary at {binary} (swift build --product netra)", file=sys.stderr)
        return 2
    photos, groups, missing = load_photos(args.faces)
    if missing:
        print(f"load_test: missing face photos (pass --faces): {', '.join(missing[:5])}", file=sys.stderr)
        return 2

    work = tempfile.mkdtemp(prefix="netra-load-")
    key = "base64:" + base64.b64encode(os.urandom(32)).decode()
    port = free_port()
    db = os.path.join(work, "netra.db")
    env = clean_environment({
        "NETRA_SECRET_KEY": key, "NETRA_DATA_DB": db, "NETRA_MODEL_DIR": os.path.join(ROOT, "models"),
        "NETRA_MODEL_CACHE_DIR": os.path.join(work, "cache"), "NETRA_APP_HOST": "127.0.0.1", "NETRA_APP_PORT": str(port),
        # High enough that the limiter never refuses (all clients share 127.0.0.1's bucket).
        "NETRA_APP_RATE_LIMIT_PER_SECOND": "100000", "NETRA_APP_RATE_LIMIT_BURST": "100000",
    })
    server = Server([binary, "serve", "--config", args.config], work, env, port)
    sampler = Sampler(server.process.pid)
    sampler.start()
    stats, ledger = Stats(), Ledger()
    status = 2
    try:
        started = time.monotonic()
        failure = server.wait_ready()
        if failure:
            print(f"load_test: netra serve: {failure}", file=sys.stderr)
            return 2
        print(f"netra serve ready in {time.monotonic() - started:.1f} s on port {port}; "
              f"{args.threads} clients for {seconds:.0f} s ({work})", flush=True)
        load_started = time.monotonic()
        deadline = load_started + seconds
        clients = [Client(n, server, photos, groups, ledger, stats, deadline, seed=args.seed * 1000 + n)
                   for n in range(args.threads)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        load_seconds = time.monotonic() - load_started
        if server.process.poll() is not None:
            tail = server.log_tail(5, "\n    ")
            stats.violation(f"netra serve exited with {server.process.returncode} during the test:\n    {tail}")
            expected_faces, listed_faces = len(ledger.surviving()), None
        else:
            expected_faces, listed_faces = check_durability(server, ledger, stats)
        sampler.stopped.set()
        sampler.join()
        # Acknowledged = durable: kill without warning, then check the file on disk.
        server.kill()
        check = subprocess.run([binary, "db", "check", "--json", "--config", args.config, "--db", db],
                               cwd=work, env=env, capture_output=True, text=True, timeout=300)
        try:
            report = json.loads(check.stdout)
        except ValueError:
            report = {}
        checked = f"exit {check.returncode}, {report.get('faces')} faces, integrity {report.get('integrity')}"
        if check.returncode != 0 or not report.get("ok"):
            stats.violation(f"netra db check after SIGKILL failed (exit {check.returncode}): {check.stdout[:300]} {check.stderr[:300]}")
        elif report.get("faces") != expected_faces:
            stats.violation(f"netra db check counts {report.get('faces')} faces after SIGKILL; {expected_faces} acknowledged and not deleted")
        peak = sampler.peak_mb
        if peak >= args.max_rss_mb:
            stats.violation(f"server peak RSS {peak:.0f} MB is over the bound {args.max_rss_mb} MB")
        for kind, per in stats.statuses.items():
            if per.get(429):
                print(f"note: {per[429]} {kind} requests were rate limited (429)")
        print_summary(stats, load_seconds, peak, args.max_rss_mb, expected_faces, listed_faces, checked)
        if args.json:
            figures = {
                "seconds": load_seconds, "threads": args.threads, "peak_rss_mb": peak, "max_rss_mb": args.max_rss_mb,
                "rss_samples_kb": [kb for _, kb in sampler.samples],
                "faces_expected": expected_faces, "faces_listed": listed_faces, "db_check": report,
                "types": {kind: {"count": len(stats.latencies[kind]), "per_second": len(stats.latencies[kind]) / load_seconds,
                                 "statuses": {str(k): v for k, v in stats.statuses[kind].items()},
                                 "p50_ms": finite(percentile(stats.latencies[kind], 0.5)),
                                 "p95_ms": finite(percentile(stats.latencies[kind], 0.95))} for kind, _ in MIX},
                "violations": stats.violations,
            }
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(figures, handle, indent=2)
        status = 1 if stats.violations else 0
        return status
    finally:
        sampler.stopped.set()
        server.kill()
        if args.keep or status != 0:
            print(f"kept {work} (server.log, netra.db)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
