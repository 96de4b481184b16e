#!/usr/bin/env python3
"""NETRA's CompreFace and DeepStack compatibility, end to end, through the real client libraries.

    .build/compat-venv/bin/python scripts/compat_clients.py --binary .build/debug/netra
    .build/compat-venv/bin/python scripts/compat_clients.py --groups C,D     # some groups only

Run it with a Python that has compreface-sdk 0.6.0, deepstack-python 0.9 (which imports
Pillow without declaring it), requests and urllib3<2 (`scripts/dev test` makes that venv at
.build/compat-venv). It starts one `netra serve` on a free loopback port with API keys required,
a fresh temporary store and the repository's configs/config.yaml; creates collections `alpha`
and `beta` and API keys with `netra collections create` / `netra apikeys create`; then checks,
on the public photos of ../shared/data/faces (docs/compatibility.md says what is promised):

  A  compreface-sdk: every call of the SDK (recognition.recognize, face_collection.add / list /
     delete / delete_all / verify, subjects add / list / update (rename and merge) / delete /
     delete_all, detection.detect, verification.verify) with right answers: a different photo
     of an enrolled person is named with similarity > 0.5, a stranger gets `subjects: []`, a
     group photo gives one result per face, the SDK's options and plugins do what they say,
     and similarities follow NETRA's documented score mapping.
  B  deepstack-python (what Home Assistant's deepstack_face uses): detect, register (appends),
     recognize (known and `unknown`), list.
  C  the documented error answers, with their exact bodies, of both APIs; scopes.
  D  hand-built requests of clients the libraries do not cover (Double Take, Home Assistant,
     deepstack-sdk, the SDK's URL quirks, base64 JSON, file names, urlencoded forms, trailing
     slash, Content-Length, CORS).
  E  collections: keys bound to `alpha` and `beta` never see, match, delete or verify against
     the other's subjects and faces on any route; an unbound key names one with `collection`;
     a bound key naming another is refused with 403.

One line per check; exit 1 when any check fails (with a summary of the failures), 2 when the
set-up fails. The temporary folder (store, server.log) is kept when anything failed.
"""

import argparse
import base64
import http.client
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

from netra_http import Checks, FaceData, Server, brief, dig, free_port, multipart, netra, test_server_environment

try:
    import requests
    from compreface import CompreFace
    from deepstack.core import DeepstackFace, get_recognized_faces
except ImportError as missing:  # pragma: no cover - set-up problem
    print(f"compat_clients: {missing}: run with the venv's python, .build/compat-venv/bin/python "
          "(scripts/dev test creates it: pip install 'compreface-sdk==0.6.0' 'urllib3<2' "
          "'deepstack-python==0.9' pillow requests)", file=sys.stderr)
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(os.path.dirname(ROOT), "shared", "data", "faces")

# Public photos (public/images/..., identities from public/manifest.csv), chosen by their
# descriptor distances: every query photo is within 0.47 of the photos enrolled for the same
# person and every stranger farther than 0.66 from everyone enrolled (NETRA's threshold: 0.6).
ENROLLED = {  # subject -> (manifest identity, photos to enroll, a different photo to query)
    "angelina": ("deepface/angelina", ["deepface/img5.jpg", "deepface/img11.jpg", "deepface/img6.jpg"], "deepface/img10.jpg"),
    "jack": ("deepface/jack", ["deepface/img16.jpg", "deepface/img62.jpg", "deepface/img17.jpg"], "deepface/img61.jpg"),
    "scarlett": ("deepface/scarlett", ["deepface/img51.jpg", "deepface/img50.jpg"], "deepface/img49.jpg"),
    "obama": ("face_recognition/obama", ["face_recognition/obama_small.jpg", "face_recognition/knn_test_obama1.jpg"],
              "face_recognition/test_obama3.jpg"),
}
STRANGERS = {"jeff": ("deepface/jeff", "deepface/img21.jpg"), "sundar": ("deepface/sundar", "deepface/img25.jpg")}
# B and D enroll other people of the manifest (identity, photos, query).
MARK = ("deepface/mark", ["deepface/img57.jpg", "deepface/img58.jpg"], "deepface/img13.jpg")
ELON = ("deepface/elon", ["deepface/img67.jpg"], None)
JENNIFER = ("deepface/jennifer", ["deepface/img53.jpg", "deepface/img55.jpg"], "deepface/img56.jpg")
ANGELINA_EXTRA = ("deepface/angelina", ["deepface/img4.jpg"], None)  # A's merge
# multi/images/... (multi/ground_truth.csv): a clear group photo (3 large faces), one with an
# enrolled person among strangers, and the dog photo without any face.
GROUP = "dlib_2008_002506.jpg"
OBAMA_AND_BIDEN = "fr_obama_and_biden.jpg"
NO_FACE = "dlib_dogs.jpg"

COLLECTIONS = ("alpha", "beta")
UNKNOWN_UUID_KEY = "00000000-0000-0000-0000-000000000002"  # CompreFace's demo key: unknown here


# --------------------------------------------------------------------------- small helpers

def names(subjects):
    """The subject names of one CompreFace result entry's `subjects`."""
    return [s.get("subject") for s in subjects or [] if isinstance(s, dict)]


def number(value):
    """A JSON number (Swift writes 1.0 as 1, so an int is a number too), not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def rounded_to_5(value):
    return number(value) and abs(value * 1e5 - round(value * 1e5)) < 1e-6


def peer_score(distance, s, threshold_distance):
    """docs/compatibility.md: 1 / (1 + exp(10·(d − d_t) − logit(s)))."""
    return 1 / (1 + math.exp(10 * (distance - threshold_distance) - math.log(s / (1 - s))))


def area(box):
    return (box["x_max"] - box["x_min"]) * (box["y_max"] - box["y_min"])


def integer_box(box, keys=("x_min", "y_min", "x_max", "y_max")):
    return isinstance(box, dict) and all(isinstance(box.get(k), int) for k in keys)


class Reply:
    """One HTTP answer: status, parsed JSON (None when not JSON), headers."""

    def __init__(self, response=None, error=None):
        self.error = error
        self.status = response.status_code if response is not None else None
        self.headers = response.headers if response is not None else {}
        self.text = response.text if response is not None else ""
        try:
            self.json = response.json() if response is not None and response.content else None
        except ValueError:
            self.json = None

    def __str__(self):
        if self.error is not None:
            return f"no answer ({self.error!r})"
        return f"{self.status} {brief(self.json) if self.json is not None else repr(self.text[:200])}"


class HTTP:
    """Requests to the server with `requests` (paths are sent exactly as written)."""

    def __init__(self, url):
        self.url = url
        self.session = requests.Session()

    def __call__(self, method, path, key=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if key is not None:
            headers["x-api-key"] = key
        try:
            response = self.session.request(method, self.url + path, headers=headers, timeout=120, **kwargs)
        except requests.RequestException as error:
            return Reply(error=error)
        return Reply(response)

    def deepstack(self, route, key=None, fields=None, files=None, urlencoded=False):
        """POST /v1/vision/face<route> with form fields (+ api_key) as multipart, or urlencoded."""
        fields = dict(fields or {})
        if key is not None:
            fields["api_key"] = key
        if urlencoded:
            return self("POST", "/v1/vision/face" + route, data=fields)
        parts = {name: (None, str(value)) for name, value in fields.items()}
        parts.update(files or {})
        return self("POST", "/v1/vision/face" + route, files=parts)


class Photos(FaceData):
    """Photo bytes and paths of the face data, checked against its manifests."""

    def __init__(self, folder):
        super().__init__(folder)
        self.cache = {}

    def read(self, path):
        if path not in self.cache:
            with open(path, "rb") as handle:
                self.cache[path] = handle.read()
        return self.cache[path]

    def problems(self):
        """Why the chosen photos do not fit the manifests (empty when they do)."""
        found = []
        counts = {}
        for identity in self.identity.values():
            counts[identity] = counts.get(identity, 0) + 1
        people = [(i, e + [q]) for i, e, q in ENROLLED.values()] + [(i, [p]) for i, p in STRANGERS.values()]
        people += [(i, e + ([q] if q else [])) for i, e, q in (MARK, ELON, JENNIFER, ANGELINA_EXTRA)]
        for identity, files in people:
            for file in files:
                if self.identity.get("images/" + file) != identity:
                    found.append(f"public/images/{file} is not {identity} in manifest.csv")
                if not os.path.exists(self.public(file)):
                    found.append(f"{self.public(file)} is missing")
        for identity, _, _ in ENROLLED.values():
            if counts.get(identity, 0) < 4:
                found.append(f"{identity} has fewer than 4 photos in manifest.csv")
        enrolled = {i for i, _, _ in ENROLLED.values()}
        found += [f"stranger {i} is enrolled" for i, _ in STRANGERS.values() if i in enrolled]
        for file in (GROUP, OBAMA_AND_BIDEN, NO_FACE):
            if file not in self.n_faces or not os.path.exists(self.multi(file)):
                found.append(f"multi/images/{file} is missing or not in ground_truth.csv")
        if self.n_faces.get(NO_FACE) != 0:
            found.append(f"{NO_FACE} is not a photo without a face in ground_truth.csv")
        return found


class Server5xx:
    """Every request the client libraries and this script send, to assert no 5xx at the end."""

    def __init__(self):
        self.seen = []
        original = requests.Session.send

        def send(session, request, **kwargs):
            response = original(session, request, **kwargs)
            self.seen.append((request.method, request.path_url.split("?")[0], response.status_code))
            return response

        requests.Session.send = send

    def errors(self):
        return [s for s in self.seen if s[2] >= 500]


def sdk(call):
    """An SDK call's JSON, or {"__error__": ...} when it raised (a non-JSON answer, a timeout)."""
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - any failure of the library is a failed check
        return {"__error__": repr(error)}


def raw_post(port, path, fields):
    """POST a multipart form with http.client: (status, headers as a list, body bytes)."""
    body, content_type = multipart(fields)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        data = response.read()
        return response.status, response.getheaders(), data
    finally:
        connection.close()


def b64(data):
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- the context

class Context:
    """What every group uses: the server, the keys, the photos, the recorder."""

    def __init__(self, server, keys, photos, checks):
        self.server, self.keys, self.photos, self.c = server, keys, photos, checks
        self.http = HTTP(server.url)
        self.port = server.port
        self.compreface = CompreFace("http://127.0.0.1", str(server.port))

    def public(self, name):
        return self.photos.read(self.photos.public(name))

    def multi(self, name):
        return self.photos.read(self.photos.multi(name))

    def own_verify(self, a, b):
        """NETRA's own verify of two public photos: (distance, threshold distance d_t)."""
        reply = self.http("POST", "/api/v1/verify", key=self.keys["main"],
                          files={"image1": ("a.jpg", self.public(a)), "image2": ("b.jpg", self.public(b))})
        distance, threshold = dig(reply.json, "distance"), dig(reply.json, "threshold_used")
        if not isinstance(distance, (int, float)) or not isinstance(threshold, (int, float)):
            return None, None
        return float(distance), 2 * (1 - float(threshold))

    def faces_of(self, subject, key=None):
        """Image ids of a subject's faces from the CompreFace list (filtered here too)."""
        reply = self.http("GET", f"/api/v1/recognition/faces?subject={subject}&size=100", key=key or self.keys["main"])
        return [f.get("image_id") for f in dig(reply.json, "faces", default=[]) or [] if f.get("subject") == subject]


# --------------------------------------------------------------------------- A: compreface-sdk

def group_a(x):
    c = x.c
    recognition = x.compreface.init_face_recognition(x.keys["main"])
    detection = x.compreface.init_face_detection(x.keys["main"])
    verification = x.compreface.init_face_verification(x.keys["main"])
    collection, subjects = recognition.get_face_collection(), recognition.get_subjects()

    def listed_faces():
        """face_collection.list()'s faces, or None when it did not answer a list."""
        faces = dig(sdk(collection.list), "faces")
        return faces if isinstance(faces, list) else None

    c.equal("subjects.list() of an empty store", sdk(subjects.list), {"subjects": []})
    c.equal("subjects.add('angelina')", sdk(lambda: subjects.add("angelina")), {"subject": "angelina"})

    # Enrollment: file paths (the SDK sends their base name), bytes (sent as image.jpg), options.
    image_ids = {}
    for subject, (_, files, _) in ENROLLED.items():
        for index, file in enumerate(files):
            if index == 1:
                image = x.public(file)
                added = sdk(lambda: collection.add(image, subject))
            elif index == 2:
                added = sdk(lambda: collection.add(x.photos.public(file), subject, {"det_prob_threshold": 0.8}))
            else:
                added = sdk(lambda: collection.add(x.photos.public(file), subject))
            ok = c.check(f"face_collection.add({file}, {subject!r}) answers image_id and subject",
                         isinstance(dig(added, "image_id"), str) and dig(added, "subject") == subject, brief(added))
            if ok:
                image_ids.setdefault(subject, []).append(added["image_id"])
    listed = sdk(subjects.list)
    c.equal("subjects.list() names the enrolled subjects", sorted(dig(listed, "subjects", default=[]) or []), sorted(ENROLLED))

    # Recognize a different photo of each enrolled person; strangers are nobody.
    for subject, (_, _, query) in ENROLLED.items():
        result = sdk(lambda: recognition.recognize(x.photos.public(query)))
        faces = dig(result, "result", default=[])
        best = dig(faces, 0, "subjects", 0, default={})
        c.check(f"recognize({query}) names {subject!r} with similarity > 0.5",
                len(faces) == 1 and best.get("subject") == subject and number(best.get("similarity"))
                and best["similarity"] > 0.5, brief(result))
        if subject == "angelina":
            similarity = best.get("similarity")
            c.check("recognize similarities are rounded to 5 decimals", rounded_to_5(similarity), brief(similarity))
            box = dig(faces, 0, "box", default={})
            c.check("recognize box: integer x_min..y_max, probability >= 0.9 (0.9 + 0.1 x detector confidence)",
                    integer_box(box) and number(box.get("probability")) and 0.9 <= box["probability"] <= 1, brief(box))
            c.check("recognize without status: no execution_time, no plugins_versions",
                    faces and "plugins_versions" not in result and all("execution_time" not in f for f in faces), brief(result))
            c.check("recognize without face_plugins: only box and subjects (no landmarks, no embedding)",
                    faces and all(set(f) == {"box", "subjects"} for f in faces), brief(result))
    jeff = sdk(lambda: recognition.recognize(x.photos.public(STRANGERS["jeff"][1])))
    c.check("recognize(a stranger) gives one face with subjects == [] (strict unknown)",
            len(dig(jeff, "result", default=[])) == 1 and dig(jeff, "result", 0, "subjects") == [], brief(jeff))
    sundar = sdk(lambda: recognition.recognize(x.public(STRANGERS["sundar"][1]), {"prediction_count": 5, "det_prob_threshold": 0.8}))
    c.check("recognize(a stranger, prediction_count=5) still names nobody",
            len(dig(sundar, "result", default=[])) == 1 and dig(sundar, "result", 0, "subjects") == [], brief(sundar))

    # Options and plugins, as Viseron sends them.
    angelina_query = x.photos.public(ENROLLED["angelina"][2])
    full = sdk(lambda: recognition.recognize(angelina_query, {"limit": 0, "det_prob_threshold": 0.8, "prediction_count": 2,
                                                              "face_plugins": "landmarks,calculator", "status": True}))
    face = dig(full, "result", 0, default={})
    c.check("prediction_count=2: one or two subjects, angelina first",
            1 <= len(face.get("subjects") or []) <= 2 and names(face.get("subjects"))[0] == "angelina", brief(full))
    landmarks = face.get("landmarks")
    c.check("face_plugins=landmarks: 5 [x, y] points",
            isinstance(landmarks, list) and len(landmarks) == 5
            and all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in landmarks),
            brief(landmarks))
    c.check("face_plugins=calculator: no embedding (compat.expose_embeddings is off by default)",
            "box" in face and "embedding" not in face, brief(full))
    c.check("status=True: execution_time in the face and plugins_versions in the answer",
            isinstance(face.get("execution_time"), dict) and isinstance(dig(full, "plugins_versions"), dict), brief(full))

    # A group photo: one result per face; limit keeps the biggest faces.
    n = x.photos.n_faces[GROUP]
    group = sdk(lambda: recognition.recognize(x.photos.multi(GROUP)))
    faces = dig(group, "result", default=[])
    c.check(f"recognize({GROUP}) gives {n} results (ground_truth.csv n_faces), each with a subjects array",
            len(faces) == n and all(isinstance(f.get("subjects"), list) for f in faces), brief(group))
    limited = sdk(lambda: recognition.recognize(x.multi(GROUP), {"limit": 1}))
    boxes = [f.get("box") for f in faces if integer_box(f.get("box"))]
    one = dig(limited, "result", default=[])
    c.check("limit=1 gives the one biggest face", len(one) == 1 and boxes and integer_box(one[0].get("box"))
            and area(one[0]["box"]) == max(area(b) for b in boxes), brief(limited))
    pair = sdk(lambda: recognition.recognize(x.photos.multi(OBAMA_AND_BIDEN)))
    named = [names(f.get("subjects")) for f in dig(pair, "result", default=[])]
    c.check(f"recognize({OBAMA_AND_BIDEN}): obama named on exactly one face, nobody else named",
            len(named) == x.photos.n_faces[OBAMA_AND_BIDEN] and sorted(sum(named, [])) == ["obama"], brief(pair))

    # face_collection.list / verify / delete / delete_all.
    faces = dig(sdk(collection.list), "faces", default=[]) or []
    pairs = {(f.get("image_id"), f.get("subject")) for f in faces}
    expected = {(i, s) for s, ids in image_ids.items() for i in ids}
    c.check("face_collection.list() holds every added face with its subject",
            len(expected) == sum(len(files) for _, files, _ in ENROLLED.values()) and pairs == expected,
            f"listed {brief(sorted(pairs))}, added {brief(sorted(expected))}")
    verified = sdk(lambda: collection.verify(x.photos.public(ENROLLED["jack"][2]), image_ids.get("jack", ["?"])[0]))
    similarity = dig(verified, "result", 0, "similarity")
    c.check("face_collection.verify(same person) similarity > 0.5", number(similarity) and similarity > 0.5, brief(verified))
    c.check("face_collection.verify answers a box", integer_box(dig(verified, "result", 0, "box")), brief(verified))
    verified = sdk(lambda: collection.verify(x.photos.public(STRANGERS["jeff"][1]), image_ids.get("jack", ["?"])[0]))
    similarity = dig(verified, "result", 0, "similarity")
    c.check("face_collection.verify(different person) similarity < 0.5", number(similarity) and similarity < 0.5, brief(verified))
    gone = image_ids.get("jack", ["?"])[-1]
    c.equal("face_collection.delete(image_id)", sdk(lambda: collection.delete(gone)), {"image_id": gone, "subject": "jack"})
    listed = listed_faces()
    c.check("the deleted face is no longer listed, the others are", listed and gone not in {f.get("image_id") for f in listed}
            and len(listed) == len(expected) - 1, brief(listed))

    # subjects.update: a rename, then a rename onto an existing name (a merge).
    c.equal("subjects.update('scarlett', 'scarlett_j') renames", sdk(lambda: subjects.update("scarlett", "scarlett_j")), {"updated": True})
    faces = listed_faces() or []
    c.check("the renamed subject's faces carry the new name", image_ids.get("scarlett")
            and sorted(f.get("image_id") for f in faces if f.get("subject") == "scarlett_j") == sorted(image_ids["scarlett"]),
            brief(faces))
    extra = sdk(lambda: collection.add(x.photos.public(ANGELINA_EXTRA[1][0]), "angelina_extra"))
    merged = sdk(lambda: subjects.update("angelina_extra", "angelina"))
    c.equal("subjects.update onto an existing name merges", merged, {"updated": True})
    listed = dig(sdk(subjects.list), "subjects", default=[]) or []
    faces = dig(sdk(collection.list), "faces", default=[]) or []
    c.check("after the merge: no angelina_extra, angelina has its 3 + 1 faces",
            "angelina_extra" not in listed and "scarlett" not in listed
            and sorted(f.get("image_id") for f in faces if f.get("subject") == "angelina")
            == sorted(image_ids.get("angelina", []) + [dig(extra, "image_id")]), f"subjects {listed}, faces {brief(faces)}")

    c.equal("subjects.delete('jack')", sdk(lambda: subjects.delete("jack")), {"subject": "jack"})
    listed = listed_faces()
    c.check("jack's faces went with the subject, the others stayed",
            listed and "jack" not in {f.get("subject") for f in listed} and "obama" in {f.get("subject") for f in listed}, brief(listed))
    c.equal("face_collection.delete_all('obama') counts its faces", sdk(lambda: collection.delete_all("obama")),
            {"deleted": len(ENROLLED["obama"][1])})
    listed = dig(sdk(subjects.list), "subjects", default=[]) or []
    c.equal("delete_all also removed the subject (as CompreFace does)", sorted(listed), ["angelina", "scarlett_j"])

    # detection.detect and verification.verify.
    detected = sdk(lambda: detection.detect(x.photos.multi(GROUP), {"face_plugins": "landmarks", "status": True}))
    faces = dig(detected, "result", default=[])
    c.check(f"detection.detect({GROUP}) finds {n} faces with probability >= 0.9 and 5 landmarks",
            len(faces) == n and all(integer_box(f.get("box")) and dig(f, "box", "probability", default=0) >= 0.9
                                    and len(f.get("landmarks") or []) == 5 for f in faces), brief(detected))
    c.check("detection.detect with status=True: plugins_versions", isinstance(dig(detected, "plugins_versions"), dict), brief(detected))
    detected = sdk(lambda: detection.detect(x.photos.public(STRANGERS["jeff"][1])))
    c.check("detection.detect without options: one face, no landmarks, no execution_time",
            len(dig(detected, "result", default=[])) == 1 and "landmarks" not in dig(detected, "result", 0, default={})
            and "execution_time" not in dig(detected, "result", 0, default={}) and "plugins_versions" not in (detected or {}),
            brief(detected))

    a, b = ENROLLED["angelina"][1][0], ENROLLED["angelina"][1][2]
    same = sdk(lambda: verification.verify(x.photos.public(a), x.public(b)))
    similarity = dig(same, "result", 0, "face_matches", 0, "similarity")
    c.check("verification.verify(same person) similarity > 0.5, with source_image_face",
            number(similarity) and similarity > 0.5 and integer_box(dig(same, "result", 0, "source_image_face", "box")),
            brief(same))
    c.check("verification.verify without status: no plugins_versions",
            isinstance(dig(same, "result", 0), dict) and "plugins_versions" not in same["result"][0], brief(same))
    distance, threshold = x.own_verify(a, b)
    if distance is not None and number(similarity):
        expected = round(peer_score(distance, 0.5, threshold), 5)
        c.check(f"CompreFace similarity = 1/(1+exp(10(d-d_t))) (d {distance:.4f}, d_t {threshold:.2f}) rounded to 5 decimals",
                abs(similarity - expected) <= 2e-5, f"got {similarity}, expected {expected}")
    else:
        c.check("NETRA's own /api/v1/verify gives distance and threshold_used", False, "no distance to compare with")
    different = sdk(lambda: verification.verify(x.photos.public(a), x.photos.public(STRANGERS["sundar"][1]), {"status": True}))
    similarity = dig(different, "result", 0, "face_matches", 0, "similarity")
    c.check("verification.verify(different people) similarity < 0.5", number(similarity) and similarity < 0.5, brief(different))
    c.check("verification.verify with status=True: plugins_versions inside result[0]",
            isinstance(dig(different, "result", 0, "plugins_versions"), dict), brief(different))

    c.equal("subjects.delete_all() counts the subjects", sdk(subjects.delete_all), {"deleted": 2})
    c.equal("after delete_all: no subjects", sdk(subjects.list), {"subjects": []})
    c.equal("after delete_all: no faces", dig(sdk(collection.list), "faces"), [])


# --------------------------------------------------------------------------- B: deepstack-python

def group_b(x):
    c = x.c
    # The library's defaults are Home Assistant's (min_confidence 0.45); a longer timeout than
    # its 10 s because the debug build shares 2 cores with the test.
    face = DeepstackFace(ip="127.0.0.1", port=x.port, api_key=x.keys["main"], timeout=60)
    n = x.photos.n_faces[GROUP]
    predictions = sdk(lambda: face.detect(x.multi(GROUP)))
    c.check(f"detect({GROUP}) gives {n} predictions, integer boxes, confidence >= 0.9",
            isinstance(predictions, list) and len(predictions) == n
            and all(integer_box(p) and number(p.get("confidence")) and p["confidence"] >= 0.9 for p in predictions),
            brief(predictions))

    identity, files, query = MARK
    first = sdk(lambda: face.register("mark", x.public(files[0])))
    c.equal("register('mark', photo 1) says face added", first, "face added")
    second = sdk(lambda: face.register("mark", x.public(files[1])))
    c.check("register('mark', photo 2) succeeds", second in ("face added", "face updated"), brief(second))
    c.equal("two register calls for one userid append: mark has 2 faces", len(x.faces_of("mark")), 2)
    c.equal("register('elon')", sdk(lambda: face.register("elon", x.public(ELON[1][0]))), "face added")

    predictions = sdk(lambda: face.recognize(x.public(query)))
    best = dig(predictions, 0, default={})
    c.check(f"recognize({query}) names mark, confidence > 0.67",
            isinstance(predictions, list) and len(predictions) == 1 and best.get("userid") == "mark"
            and number(best.get("confidence")) and best["confidence"] > 0.67 and integer_box(best), brief(predictions))
    c.check("Home Assistant's get_recognized_faces sees mark",
            isinstance(predictions, list) and list(get_recognized_faces(predictions)) == ["mark"], brief(predictions))
    predictions = sdk(lambda: face.recognize(x.public(STRANGERS["sundar"][1])))
    c.check("recognize(a stranger) gives userid 'unknown', confidence 0",
            isinstance(predictions, list) and len(predictions) == 1 and dig(predictions, 0, "userid") == "unknown"
            and dig(predictions, 0, "confidence") == 0, brief(predictions))
    c.equal("get_registered_faces() lists mark and elon", sorted(sdk(face.get_registered_faces) or []), ["elon", "mark"])
    print("     B deepstack-python 0.9 has no delete (nor match): D sends those by hand", flush=True)


# --------------------------------------------------------------------------- C: documented errors

def group_c(x):
    c, http, key = x.c, x.http, x.keys["main"]
    dog = x.multi(NO_FACE)
    no_face = {"message": "No face is found in the given image", "code": 28}

    def expect(name, reply, status, body):
        c.check(name, reply.status == status and reply.json == body, f"got {reply}, expected {status} {brief(body)}")

    expect("CompreFace recognize with no face: 400 code 28",
           http("POST", "/api/v1/recognition/recognize", key=key, files={"file": ("dogs.jpg", dog)}), 400, no_face)
    expect("CompreFace detect with no face: 400 code 28 (not an empty list)",
           http("POST", "/api/v1/detection/detect", key=key, files={"file": ("dogs.jpg", dog)}), 400, no_face)
    expect("CompreFace add example with no face: 400 code 28",
           http("POST", "/api/v1/recognition/faces?subject=dog", key=key, files={"file": ("dogs.jpg", dog)}), 400, no_face)
    expect("CompreFace add example with 3 faces: 400 code 31",
           http("POST", "/api/v1/recognition/faces?subject=crowd", key=key, files={"file": (GROUP, x.multi(GROUP))}),
           400, {"message": "More than one face in the source image", "code": 31})
    missing_key = {"message": "Missing header: x-api-key", "code": 20}
    expect("CompreFace recognize without x-api-key: 400 code 20",
           http("POST", "/api/v1/recognition/recognize", files={"file": ("a.jpg", x.public("deepface/img25.jpg"))}), 400, missing_key)
    expect("CompreFace subjects list without x-api-key: 400 code 20", http("GET", "/api/v1/recognition/subjects"), 400, missing_key)
    not_found = {"message": "Recognition service with this API key not found", "code": 10}
    for unknown in (UNKNOWN_UUID_KEY, "netra_" + "0" * 12 + "_" + uuid.uuid4().hex):
        reply = http("POST", "/api/v1/recognition/recognize", key=unknown, files={"file": ("a.jpg", x.public("deepface/img25.jpg"))})
        expect(f"CompreFace recognize with an unknown key ({unknown[:10]}...): 404 code 10 (the key not echoed)", reply, 404, not_found)
    reply = http("GET", "/api/v1/recognition/subjects", key=UNKNOWN_UUID_KEY)
    expect("CompreFace subjects list with an unknown key: 404 code 10", reply, 404, not_found)
    for path in ("/api/v1/detection/detect", "/api/v1/verification/verify"):
        reply = http("POST", path, key=UNKNOWN_UUID_KEY, files={"file": ("a.jpg", x.public("deepface/img25.jpg"))})
        c.check(f"{path} with an unknown key: 404 code 10, key not echoed",
                reply.status == 404 and dig(reply.json, "code") == 10 and UNKNOWN_UUID_KEY not in reply.text, str(reply))
    missing_file = {"message": "Required part file is missing", "code": 34}
    expect("CompreFace recognize without a file part: 400 code 34",
           http("POST", "/api/v1/recognition/recognize", key=key, files={"image": ("a.jpg", x.public("deepface/img25.jpg"))}),
           400, missing_file)
    expect("CompreFace add example without a file part: 400 code 34",
           http("POST", "/api/v1/recognition/faces?subject=nofile", key=key, files={"picture": ("a.jpg", x.public("deepface/img25.jpg"))}),
           400, missing_file)
    reply = http("GET", "/api/v1/recognition/subjects", key=key)
    c.check("refused adds leave no subject behind (dog, crowd, nofile)", reply.status == 200
            and isinstance(dig(reply.json, "subjects"), list) and not {"dog", "crowd", "nofile"} & set(reply.json["subjects"]), str(reply))
    expect("CompreFace delete of an unknown subject: 404 code 42",
           http("DELETE", "/api/v1/recognition/subjects/ghost", key=key), 404, {"message": "Subject ghost not found", "code": 42})
    expect("CompreFace rename of an unknown subject: 404 code 42",
           http("PUT", "/api/v1/recognition/subjects/ghost", key=key, json={"subject": "somebody"}),
           404, {"message": "Subject ghost not found", "code": 42})
    expect("CompreFace add subject 'dup': 201", http("POST", "/api/v1/recognition/subjects", key=key, json={"subject": "dup"}),
           201, {"subject": "dup"})
    expect("CompreFace add existing subject 'dup': 400 code 43",
           http("POST", "/api/v1/recognition/subjects", key=key, json={"subject": "dup"}), 400,
           {"message": "Subject already exists", "code": 43})
    http("DELETE", "/api/v1/recognition/subjects/dup", key=key)
    reply = http("DELETE", f"/api/v1/recognition/faces/{uuid.uuid4()}", key=key)
    c.check("CompreFace delete of an unknown image id: 404 code 44", reply.status == 404 and dig(reply.json, "code") == 44, str(reply))

    # DeepStack.
    empty = {"success": True, "predictions": [], "duration": 0}
    expect("DeepStack recognize with no face: 200, empty predictions",
           http.deepstack("/recognize", key, files={"image": ("image", dog)}), 200, empty)
    expect("DeepStack detect with no face: 200, empty predictions", http.deepstack("", key, files={"image": ("image", dog)}), 200, empty)
    bad_key = {"success": False, "error": "Incorrect api key", "duration": 0}
    face = {"image": ("image", x.public("deepface/img25.jpg"))}
    expect("DeepStack recognize without api_key: 401", http.deepstack("/recognize", None, files=face), 401, bad_key)
    expect("DeepStack detect with a wrong api_key: 401", http.deepstack("", "netra_wrong", files=face), 401, bad_key)
    expect("DeepStack list with a wrong api_key: 401", http.deepstack("/list", UNKNOWN_UUID_KEY, urlencoded=True), 401, bad_key)
    no_image = {"success": False, "error": "No valid image file found", "duration": 0}
    expect("DeepStack detect without an image: 400", http.deepstack("", key), 400, no_image)
    expect("DeepStack recognize without an image: 400", http.deepstack("/recognize", key, files={"picture": ("x.jpg", b"")}), 400, no_image)
    expect("DeepStack register without userid: 400", http.deepstack("/register", key, files=face), 400,
           {"success": False, "error": "userid not specified", "duration": 0})
    expect("DeepStack register with no face: 400", http.deepstack("/register", key, {"userid": "dog"}, files={"image": ("image", dog)}),
           400, {"success": False, "error": "no face detected", "duration": 0})
    expect("DeepStack match with one image: 400", http.deepstack("/match", key, files={"image1": ("image1", x.public("deepface/img25.jpg"))}),
           400, {"success": False, "error": "expected two image files, only one found", "duration": 0})

    # Scopes: a recognize-only key may recognize, not manage.
    recognize_only = x.keys["recognize"]
    reply = http("POST", "/api/v1/recognition/recognize", key=recognize_only, files={"file": ("a.jpg", x.public("deepface/img25.jpg"))})
    c.check("a recognize-scope key may recognize (200)", reply.status == 200 and isinstance(dig(reply.json, "result"), list), str(reply))
    reply = http("POST", "/api/v1/recognition/faces?subject=visitor", key=recognize_only,
                 files={"file": ("a.jpg", x.public("deepface/img25.jpg"))})
    c.check("a recognize-scope key may not add faces: 403 with message and code",
            reply.status == 403 and isinstance(dig(reply.json, "message"), str) and "code" in (reply.json or {}), str(reply))
    reply = http("GET", "/api/v1/recognition/subjects", key=recognize_only)
    c.check("a recognize-scope key may not list subjects: 403", reply.status == 403, str(reply))
    reply = http.deepstack("/register", recognize_only, {"userid": "visitor"}, files=face)
    c.check("a recognize-scope key may not register (DeepStack): 403, success false",
            reply.status == 403 and dig(reply.json, "success") is False and isinstance(dig(reply.json, "error"), str), str(reply))


# --------------------------------------------------------------------------- D: hand-built requests

def group_d(x):
    c, http, key = x.c, x.http, x.keys["main"]

    # Double Take's CompreFace detector: train, recognize (face_plugins=undefined), remove.
    identity, files, query = JENNIFER
    for file in files:
        reply = http("POST", "/api/v1/recognition/faces?subject=dt_jennifer", key=key,
                     files={"file": (os.path.basename(file), x.public(file))})
        c.check(f"Double Take train {os.path.basename(file)}: 201 image_id, subject",
                reply.status == 201 and isinstance(dig(reply.json, "image_id"), str) and dig(reply.json, "subject") == "dt_jennifer",
                str(reply))
    reply = http("POST", "/api/v1/recognition/recognize?face_plugins=undefined&det_prob_threshold=0.8", key=key,
                 files={"file": (os.path.basename(query), x.public(query))})
    best = dig(reply.json, "result", 0, "subjects", 0, default={})
    c.check("Double Take recognize (face_plugins=undefined): 200, dt_jennifer, similarity x 100 >= 60",
            reply.status == 200 and best.get("subject") == "dt_jennifer" and best.get("similarity", 0) * 100 >= 60
            and integer_box(dig(reply.json, "result", 0, "box")), str(reply))
    reply = http("POST", "/api/v1/recognition/recognize", key=key, json={"file": b64(x.public(query))})
    c.check("JSON {\"file\": base64} recognize: dt_jennifer",
            reply.status == 200 and names(dig(reply.json, "result", 0, "subjects")) == ["dt_jennifer"], str(reply))
    reply = http("DELETE", "/api/v1/recognition/faces?subject=dt_jennifer", key=key)
    c.check("Double Take remove (DELETE /faces?subject=): 200 {\"deleted\": 2}", reply.status == 200 and reply.json == {"deleted": 2},
            str(reply))

    # The SDK's URL and body shapes, by hand; file names; base64 on verify and add.
    face = x.public("deepface/img25.jpg")
    reply = http("POST", "/api/v1/recognition/recognize?&limit=0&status=True", key=key, files={"file": ("image.jpg", face)})
    c.check("?&limit=0&status=True (leading &, Python True): execution_time and plugins_versions",
            reply.status == 200 and isinstance(dig(reply.json, "result", 0, "execution_time"), dict)
            and isinstance(dig(reply.json, "plugins_versions"), dict), str(reply))
    reply = http("POST", "/api/v1/recognition/recognize?&status=False", key=key, files={"file": ("image.jpg", face)})
    c.check("?&status=False: no execution_time", reply.status == 200 and len(dig(reply.json, "result", default=[])) == 1
            and "execution_time" not in dig(reply.json, "result", 0, default={"execution_time": 1}), str(reply))
    reply = http("POST", "/api/v1/recognition/recognize", key=key, files={"file": ("image", face)})
    c.check("a file part named 'image' without an extension is accepted",
            reply.status == 200 and len(dig(reply.json, "result", default=[])) == 1, str(reply))
    reply = http("POST", "/api/v1/verification/verify", key=key,
                 json={"source_image": b64(x.public(files[0])), "target_image": b64(x.public(files[1]))})
    similarity = dig(reply.json, "result", 0, "face_matches", 0, "similarity")
    c.check("JSON {source_image, target_image} verify: same person > 0.5",
            reply.status == 200 and number(similarity) and similarity > 0.5, str(reply))
    reply = http("POST", "/api/v1/recognition/faces?subject=dt_b64", key=key, json={"file": b64(face)})
    image_id = dig(reply.json, "image_id")
    c.check("JSON {\"file\": base64} add example: 201", reply.status == 201 and isinstance(image_id, str)
            and dig(reply.json, "subject") == "dt_b64", str(reply))
    reply = http("GET", f"/api/v1/recognition/faces/{image_id}/img", key=key)
    c.check("image download: 404 with a CompreFace error body (NETRA stores no images)",
            reply.status == 404 and isinstance(dig(reply.json, "message"), str) and "code" in (reply.json or {}), str(reply))
    reply = http("POST", "/api/v1/recognition/faces/delete", key=key, json=[image_id, "999999999"])
    c.check("POST /faces/delete [known, unknown]: 200, the known one listed", reply.status == 200
            and reply.json == [{"image_id": image_id, "subject": "dt_b64"}], str(reply))
    reply = http("POST", "/api/v1/recognition/subjects", key=key, json={"subject": "dt_old"})
    c.check("POST /subjects: 201 Created", reply.status == 201 and reply.json == {"subject": "dt_old"}, str(reply))
    reply = http("PUT", "/api/v1/recognition/subjects/dt_old", key=key, json={"subject": "dt_new", "api_endpoint": "dt_old"})
    c.check("SDK rename body with the extra api_endpoint: 200 {\"updated\": true}", reply.status == 200 and reply.json == {"updated": True},
            str(reply))
    reply = http("GET", "/api/v1/recognition/subjects", key=key, headers={"Content-Type": "application/json"})
    listed = dig(reply.json, "subjects", default=[]) or []
    c.check("GET /subjects with Content-Type: application/json and no body (as the SDK sends) lists dt_new, not dt_old",
            reply.status == 200 and "dt_new" in listed and "dt_old" not in listed, str(reply))
    reply = http("GET", "/api/v1/recognition/subjects/", key=key)
    c.check("GET /subjects/ (trailing slash, as CompreFace's docs write it): 200 with the same list",
            reply.status == 200 and sorted(dig(reply.json, "subjects", default=[]) or []) == sorted(listed), str(reply))
    reply = http("DELETE", "/api/v1/recognition/subjects/dt_new", key=key, headers={"Content-Type": "application/json"})
    c.check("DELETE /subjects/dt_new: 200 {\"subject\": \"dt_new\"}", reply.status == 200 and reply.json == {"subject": "dt_new"}, str(reply))

    # Double Take's DeepStack detector: one image per register request, recognize without
    # min_confidence, delete; then Home Assistant's and deepstack-sdk's shapes.
    for file in ENROLLED["jack"][1][:2]:
        reply = http.deepstack("/register", key, {"userid": "dt_jack"}, files={"image": (os.path.basename(file), x.public(file))})
        c.check(f"Double Take register {os.path.basename(file)} as dt_jack: success",
                reply.status == 200 and dig(reply.json, "success") is True and isinstance(dig(reply.json, "message"), str), str(reply))
    c.equal("one image per register request appends: dt_jack has 2 faces", len(x.faces_of("dt_jack")), 2)
    jack_query = x.public(ENROLLED["jack"][2])
    reply = http.deepstack("/recognize", key, files={"image": ("frame.jpg", jack_query)})
    best = dig(reply.json, "predictions", 0, default={})
    c.check("Double Take recognize (no min_confidence): dt_jack, confidence x 100 >= 60 (its match default)",
            reply.status == 200 and dig(reply.json, "success") is True and best.get("userid") == "dt_jack"
            and best.get("confidence", 0) * 100 >= 60 and integer_box(best), str(reply))
    reply = http("POST", "/v1/vision/face/recognize", files={"image": jack_query}, data={"api_key": key, "min_confidence": 0.45})
    c.check("Home Assistant style (files={'image': bytes}, data={api_key, min_confidence: 0.45}): dt_jack",
            reply.status == 200 and dig(reply.json, "predictions", 0, "userid") == "dt_jack", str(reply))
    reply = http.deepstack("/delete", key, {"userid": "dt_jack"})
    c.check("Double Take remove (multipart delete userid): success", reply.status == 200 and dig(reply.json, "success") is True, str(reply))
    reply = http.deepstack("/list", key, urlencoded=True)
    c.check("urlencoded list: 200, dt_jack gone", reply.status == 200 and isinstance(dig(reply.json, "faces"), list)
            and "dt_jack" not in reply.json["faces"], str(reply))

    scarlett = ENROLLED["scarlett"][1]
    reply = http.deepstack("/register", key, {"userid": "sdk_scarlett"},
                           files={f"image{uuid.uuid4()}": ("image", x.public(f)) for f in scarlett})
    c.check("deepstack-sdk style register (files named 'image'+uuid4(), two in one request): success",
            reply.status == 200 and dig(reply.json, "success") is True, str(reply))
    c.equal("every image of a register is a face: sdk_scarlett has 2", len(x.faces_of("sdk_scarlett")), 2)
    reply = http.deepstack("/list", key, urlencoded=True)
    c.check("urlencoded list names sdk_scarlett", "sdk_scarlett" in (dig(reply.json, "faces", default=[]) or []), str(reply))
    reply = http.deepstack("/delete", key, {"userid": "sdk_scarlett"}, urlencoded=True)
    c.check("urlencoded delete: success", reply.status == 200 and dig(reply.json, "success") is True, str(reply))
    reply = http.deepstack("/list", key, urlencoded=True)
    c.check("sdk_scarlett is gone", "sdk_scarlett" not in (dig(reply.json, "faces", default=["sdk_scarlett"]) or []), str(reply))
    reply = http("POST", "/v1/vision/face/", files={"image": ("image", x.multi(GROUP)), "api_key": (None, key)})
    c.check("POST /v1/vision/face/ (trailing slash) detects", reply.status == 200
            and len(dig(reply.json, "predictions", default=[])) == x.photos.n_faces[GROUP], str(reply))

    a, b = ENROLLED["angelina"][1][0], ENROLLED["angelina"][1][2]
    reply = http.deepstack("/match", key, files={"image1": ("image1", x.public(a)), "image2": ("image2", x.public(b))})
    similarity = dig(reply.json, "similarity")
    distance, threshold = x.own_verify(a, b)
    expected = peer_score(distance, 0.67, threshold) if distance is not None else None
    c.check("DeepStack match similarity = 1/(1+exp(10(d-d_t) - logit(0.67)))",
            reply.status == 200 and number(similarity) and expected is not None and abs(similarity - expected) <= 1e-4,
            f"got {reply}, expected {expected}")

    # DeepStack answers carry Content-Length, never chunked (Blue Iris).
    for name, path, fields, expected in (("detect", "/v1/vision/face", {"image": ("image", face), "api_key": key}, 200),
                                         ("recognize", "/v1/vision/face/recognize", {"image": ("image", face), "api_key": key}, 200),
                                         ("list", "/v1/vision/face/list", {"api_key": key}, 200),
                                         ("401", "/v1/vision/face/recognize", {"image": ("image", face), "api_key": "wrong"}, 401)):
        status, headers, body = raw_post(x.port, path, fields)
        lowered = {k.lower(): v for k, v in headers}
        c.check(f"DeepStack {name} ({expected}): Content-Length = body length, no chunked Transfer-Encoding",
                status == expected and lowered.get("content-length") == str(len(body)) and "transfer-encoding" not in lowered,
                f"{status} {headers}")

    # CORS: the browser demo posts from another origin.
    origin = "http://dashboard.example"
    reply = http("OPTIONS", "/api/v1/recognition/recognize",
                 headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                          "Access-Control-Request-Headers": "x-api-key,content-type"})
    allowed = reply.headers.get("Access-Control-Allow-Headers", "").lower()
    c.check("CORS preflight: 204, Access-Control-Allow-Origin, x-api-key allowed",
            reply.status == 204 and reply.headers.get("Access-Control-Allow-Origin") in ("*", origin)
            and ("x-api-key" in allowed or allowed.strip() == "*"), f"{reply.status} {dict(reply.headers)}")
    reply = http("POST", "/api/v1/recognition/recognize", key=key, headers={"Origin": origin}, files={"file": ("blob.jpeg", face)})
    c.check("cross-origin recognize with a key: 200 with Access-Control-Allow-Origin",
            reply.status == 200 and reply.headers.get("Access-Control-Allow-Origin") in ("*", origin), f"{reply} {dict(reply.headers)}")


# --------------------------------------------------------------------------- E: collections

def group_e(x):
    c, http = x.c, x.http
    alpha, beta, main = x.keys["alpha"], x.keys["beta"], x.keys["main"]
    angelina, jack = ENROLLED["angelina"][1][0], ENROLLED["jack"][1][0]
    scarlett, obama = ENROLLED["scarlett"][1][0], ENROLLED["obama"][1][0]
    obama_query, scarlett_query, angelina_query = ENROLLED["obama"][2], ENROLLED["scarlett"][2], ENROLLED["angelina"][2]

    # alpha: alice (angelina) and bob (jack), through CompreFace; beta: alice (scarlett) and
    # carol (obama), through DeepStack.
    ids = {}
    for collection_key, subject, file in ((alpha, "alice", angelina), (alpha, "bob", jack)):
        reply = http("POST", f"/api/v1/recognition/faces?subject={subject}", key=collection_key, files={"file": ("f.jpg", x.public(file))})
        c.check(f"alpha key adds {subject}", reply.status == 201, str(reply))
    for subject, file in (("alice", scarlett), ("carol", obama)):
        reply = http.deepstack("/register", beta, {"userid": subject}, files={"image": ("image", x.public(file))})
        c.check(f"beta key registers {subject}", reply.status == 200 and dig(reply.json, "success") is True, str(reply))
    for name, collection_key in (("alpha", alpha), ("beta", beta)):
        reply = http("GET", "/api/v1/recognition/faces?size=100", key=collection_key)
        ids[name] = {f.get("image_id"): f.get("subject") for f in dig(reply.json, "faces", default=[]) or []}
    c.equal("CompreFace faces list: alpha sees only its two faces", sorted(ids["alpha"].values()), ["alice", "bob"])
    c.equal("CompreFace faces list: beta sees only its two faces", sorted(ids["beta"].values()), ["alice", "carol"])
    c.check("no image id is in both lists", ids["alpha"] and ids["beta"] and not set(ids["alpha"]) & set(ids["beta"]), brief(ids))
    carol_id = next((i for i, s in ids["beta"].items() if s == "carol"), "none")

    def subject_list(collection_key, query=""):
        reply = http("GET", "/api/v1/recognition/subjects" + query, key=collection_key)
        return reply.status, sorted(dig(reply.json, "subjects", default=[]) or [])

    c.equal("CompreFace subjects: alpha", subject_list(alpha), (200, ["alice", "bob"]))
    c.equal("CompreFace subjects: beta", subject_list(beta), (200, ["alice", "carol"]))

    def compreface_names(collection_key, file, query=""):
        reply = http("POST", "/api/v1/recognition/recognize" + query, key=collection_key, files={"file": ("q.jpg", x.public(file))})
        return reply.status, [names(f.get("subjects")) for f in dig(reply.json, "result", default=[]) or []]

    # Each isolation check pairs what one key must not find with what the other must find.
    c.equal("CompreFace recognize of carol's photo: beta names carol, alpha nobody",
            (compreface_names(beta, obama_query), compreface_names(alpha, obama_query)), ((200, [["carol"]]), (200, [[]])))
    c.equal("CompreFace recognize of scarlett: beta's alice, alpha (whose alice is angelina) nobody",
            (compreface_names(beta, scarlett_query), compreface_names(alpha, scarlett_query)), ((200, [["alice"]]), (200, [[]])))
    c.equal("CompreFace recognize of angelina: alpha's alice, beta nobody",
            (compreface_names(alpha, angelina_query), compreface_names(beta, angelina_query)), ((200, [["alice"]]), (200, [[]])))

    reply = http("DELETE", f"/api/v1/recognition/faces/{carol_id}", key=alpha)
    c.check("alpha cannot delete beta's face by image_id: 404 code 44", reply.status == 404 and dig(reply.json, "code") == 44, str(reply))
    reply = http("POST", "/api/v1/recognition/faces/delete", key=alpha, json=[carol_id])
    c.check("alpha's POST /faces/delete [beta's image_id] deletes nothing", reply.status == 200 and reply.json == [], str(reply))
    reply = http("DELETE", "/api/v1/recognition/subjects/carol", key=alpha)
    c.check("alpha cannot delete beta's subject: 404 code 42",
            reply.status == 404 and reply.json == {"message": "Subject carol not found", "code": 42}, str(reply))
    reply = http("PUT", "/api/v1/recognition/subjects/carol", key=alpha, json={"subject": "mallory"})
    c.check("alpha cannot rename beta's subject: 404 code 42", reply.status == 404 and dig(reply.json, "code") == 42, str(reply))
    reply = http("DELETE", "/api/v1/recognition/faces?subject=carol", key=alpha)
    c.check("alpha's DELETE /faces?subject=carol deletes nothing", reply.status == 200 and reply.json == {"deleted": 0}, str(reply))
    reply = http("POST", f"/api/v1/recognition/faces/{carol_id}/verify", key=alpha, files={"file": ("q.jpg", x.public(obama_query))})
    c.check("alpha cannot verify against beta's image_id: 404 code 44", reply.status == 404 and dig(reply.json, "code") == 44, str(reply))
    reply = http("POST", f"/api/v1/recognition/faces/{carol_id}/verify", key=beta, files={"file": ("q.jpg", x.public(obama_query))})
    c.check("beta verifies against its own image_id: similarity > 0.5",
            reply.status == 200 and dig(reply.json, "result", 0, "similarity", default=0) > 0.5, str(reply))

    def deepstack_list(collection_key, fields=None):
        reply = http.deepstack("/list", collection_key, fields)
        return reply.status, sorted(dig(reply.json, "faces", default=[]) or [])

    def deepstack_names(collection_key, file, fields=None):
        reply = http.deepstack("/recognize", collection_key, fields, files={"image": ("image", x.public(file))})
        return reply.status, [p.get("userid") for p in dig(reply.json, "predictions", default=[]) or []]

    c.equal("DeepStack list: alpha", deepstack_list(alpha), (200, ["alice", "bob"]))
    c.equal("DeepStack recognize of carol's photo: beta names carol, alpha unknown",
            (deepstack_names(beta, obama_query), deepstack_names(alpha, obama_query)), ((200, ["carol"]), (200, ["unknown"])))
    reply = http.deepstack("/delete", alpha, {"userid": "carol"})
    c.check("DeepStack delete of beta's carol with the alpha key answers success (idempotent)",
            reply.status == 200 and dig(reply.json, "success") is True, str(reply))
    c.equal("... and beta still has carol", deepstack_list(beta), (200, ["alice", "carol"]))
    c.equal("... with her face", sorted(x.faces_of("carol", key=beta)), [carol_id])

    def own_names(collection_key, file, fields=None):
        parts = {"image": ("q.jpg", x.public(file))}
        parts.update({k: (None, v) for k, v in (fields or {}).items()})
        reply = http("POST", "/api/v1/identify", key=collection_key, files=parts)
        return reply.status, [[cand.get("name") for cand in f.get("candidates") or []] for f in dig(reply.json, "faces", default=[]) or []]

    c.equal("NETRA identify of carol's photo: beta finds carol, alpha nobody",
            (own_names(beta, obama_query), own_names(alpha, obama_query)), ((200, [["carol"]]), (200, [[]])))
    reply = http("GET", "/api/v1/subjects?limit=100", key=alpha)
    c.equal("NETRA subjects: alpha lists alice and bob",
            (reply.status, sorted(s.get("name") for s in dig(reply.json, "subjects", default=[]) or [])), (200, ["alice", "bob"]))

    # An unbound key names a collection; without one it acts in `default`.
    c.equal("unbound key, CompreFace ?collection=beta: beta's subjects", subject_list(main, "?collection=beta"), (200, ["alice", "carol"]))
    status, default_subjects = subject_list(main)
    c.check("unbound key without collection: default's subjects (no carol)", status == 200 and "carol" not in default_subjects
            and subject_list(main, "?collection=default") == (200, default_subjects), f"{status} {default_subjects}")
    c.equal("unbound key, CompreFace recognize ?collection=beta: carol", compreface_names(main, obama_query, "?collection=beta"),
            (200, [["carol"]]))
    c.equal("unbound key, DeepStack list collection=beta", deepstack_list(main, {"collection": "beta"}), (200, ["alice", "carol"]))
    c.equal("unbound key, DeepStack recognize collection=beta: carol", deepstack_names(main, obama_query, {"collection": "beta"}),
            (200, ["carol"]))
    c.equal("unbound key, NETRA identify: collection=beta finds carol, no collection (default) nobody",
            (own_names(main, obama_query, {"collection": "beta"}), own_names(main, obama_query)), ((200, [["carol"]]), (200, [[]])))

    # A bound key naming another collection is refused; naming its own is fine.
    status, _ = subject_list(alpha, "?collection=beta")
    c.equal("alpha key, CompreFace ?collection=beta: 403", status, 403)
    c.equal("alpha key, CompreFace recognize ?collection=beta: 403", compreface_names(alpha, obama_query, "?collection=beta")[0], 403)
    c.equal("alpha key, DeepStack list collection=beta: 403", deepstack_list(alpha, {"collection": "beta"})[0], 403)
    c.equal("alpha key, DeepStack recognize collection=beta: 403", deepstack_names(alpha, obama_query, {"collection": "beta"})[0], 403)
    c.equal("alpha key, NETRA identify collection=beta: 403", own_names(alpha, obama_query, {"collection": "beta"})[0], 403)
    c.equal("alpha key naming alpha: 200", subject_list(alpha, "?collection=alpha"), (200, ["alice", "bob"]))

    reply = http("DELETE", "/api/v1/recognition/subjects", key=alpha)
    c.check("alpha's subjects delete_all: {\"deleted\": 2}", reply.status == 200 and reply.json == {"deleted": 2}, str(reply))
    c.equal("... beta keeps both", subject_list(beta), (200, ["alice", "carol"]))


GROUPS = {"A": ("compreface-sdk 0.6.0", group_a), "B": ("deepstack-python 0.9", group_b),
          "C": ("documented errors", group_c), "D": ("hand-built client requests", group_d),
          "E": ("collections isolation", group_e)}


# --------------------------------------------------------------------------- set-up and main

def create_keys(binary, config, work, env, groups):
    """The API keys (and, for E, the collections) in the store before the server starts."""
    keys = {"main": netra(binary, ["apikeys", "create", "--name", "compat-main", "--scope", "recognize,manage"], config, work, env),
            "recognize": netra(binary, ["apikeys", "create", "--name", "compat-recognize", "--scope", "recognize"], config, work, env)}
    if "E" in groups:
        for name in COLLECTIONS:
            netra(binary, ["collections", "create", name], config, work, env)
            keys[name] = netra(binary, ["apikeys", "create", "--name", f"compat-{name}", "--scope", "recognize,manage",
                                        "--collection", name], config, work, env)
    return keys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "netra"), help="the netra binary (default: %(default)s)")
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "config.yaml"), help="netra configuration (default: %(default)s)")
    parser.add_argument("--faces", default=FACES, help="the face data folder (default: %(default)s)")
    parser.add_argument("--groups", default="ABCDE", help="which groups to run, e.g. A,C (default: all, in order)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (store, server.log)")
    parser.add_argument("--verbose", action="store_true", help="print the answer behind every check, passed ones too")
    args = parser.parse_args()
    groups = [g for g in "ABCDE" if g in args.groups.upper()]
    binary, config = os.path.abspath(args.binary), os.path.abspath(args.config)
    if not os.access(binary, os.X_OK):
        print(f"compat_clients: no netra binary at {binary} (swift build --product netra)", file=sys.stderr)
        return 2
    photos = Photos(args.faces)
    problems = photos.problems()
    if problems:
        print("compat_clients: the face data does not fit: " + "; ".join(problems[:5]), file=sys.stderr)
        return 2

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="netra-compat-")
    port = free_port()
    env = test_server_environment(work, port, ROOT)
    checks, status, server = Checks(args.verbose), 2, None
    try:
        try:
            keys = create_keys(binary, config, work, env, groups)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"compat_clients: set-up: {error}", file=sys.stderr)
            return 2
        server = Server([binary, "serve", "--config", config], work, env, port)
        failure = server.wait_ready()
        if failure:
            print(f"compat_clients: netra serve: {failure}", file=sys.stderr)
            return 2
        print(f"netra serve ready on port {port} in {time.monotonic() - started:.1f} s (API keys required; {work})", flush=True)
        recorder = Server5xx()
        context = Context(server, keys, photos, checks)
        for group in groups:
            title, run = GROUPS[group]
            checks.group = group
            group_started = time.monotonic()
            print(f"== {group}: {title}", flush=True)
            try:
                run(context)
            except Exception:  # noqa: BLE001 - a crash of one group is a failure, the others still run
                checks.check("runs to the end", False, traceback.format_exc(limit=-3).strip().replace("\n", "\n       "))
            print(f"   {group} took {time.monotonic() - group_started:.1f} s", flush=True)
        checks.group = "-"
        checks.check(f"no 5xx answer in {len(recorder.seen)} requests", not recorder.errors(), brief(recorder.errors()[:10]))
        checks.check("netra serve still running", server.process.poll() is None, server.log_tail(5))
        failures = checks.failures
        passed = len(checks.results) - len(failures)
        print(f"\n{len(checks.results)} checks in {time.monotonic() - started:.1f} s")
        checks.print_failures()
        print(f"compat_clients: {passed} passed, {len(failures)} failed")
        status = 1 if failures else 0
        return status
    finally:
        if server is not None:
            server.stop()
        if args.keep or status != 0:
            print(f"kept {work} (netra.db, server.log)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
