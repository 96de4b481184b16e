#!/usr/bin/env python3
"""NETRA's web console (docs/console.md) in a real browser: headless Chromium through selenium,
a fake webcam playing the public face photos, axe-core for accessibility.

    .build/console-venv/bin/python scripts/console_browser.py --binary .build/debug/netra   # as scripts/dev test runs it
    ... --artifacts DIR        # the screenshots (default .build/console-artifacts/)
    ... --docs-screenshots     # also docs/screenshots/*.png, written at the end when all passed

Run it with a Python that has selenium 4.51.0, axe-selenium-python 2.1.6 (axe-core 3.1.1) and
Pillow 13.0.0, on a machine with Debian's chromium and chromium-driver (/usr/bin/chromium,
/usr/bin/chromedriver: selenium-manager never downloads anything). It starts one `netra serve`
on a free loopback port with API keys required and a fresh temporary store (keys made with
`netra apikeys create` before), writes Y4M videos of the photos of ../shared/data/faces
(scripts/fake_webcam.py) and opens the console in one Chromium per video, each playing its
video as the webcam (`--use-file-for-fake-video-capture`). It checks, end to end:

  H  the console's headers: CSP `default-src 'self'`, no 'unsafe-inline' script, frame-ancestors
     'none', X-Frame-Options DENY; `/` redirects to /console/.
  S  sign-in: the `netra_session` cookie is HttpOnly and SameSite=Strict, expires in 8 hours;
     afterwards the key is nowhere the page's scripts can read (document.cookie, web storage,
     the DOM, input values, window globals, the URL); sign-out ends the session on the server
     (the old cookie replayed answers signed_in false, /api/v1/subjects 401); a revoked key's
     session ends.
  K  keyboard only: Tab to #signin-key, type, Enter; Tab to the nav link of #/subjects (every
     Tab moves the focus), Enter opens the page and moves the focus into it.
  C  CSRF: a write from the signed-in page without X-CSRF-Token is 403 csrf_token_invalid (the
     same with the token is 201); a page of another site (http://localhost:PORT2, the console is
     on http://127.0.0.1:PORT) posting a form and a no-cors multipart enroll gets no 2xx and
     creates nothing; from another origin of the same site (http://127.0.0.1:PORT2, the cookie
     is sent) both are 403.
  E  webcam enrollment: #enroll-quality turns data-ok="true", #enroll-capture enrolls (1 face
     in the API); files: two photos of one person and one without a face -> 2 enrolled, 1
     rejected with a reason (2 faces in the API).
  I  identify: live, a different photo of the enrolled person is named and a stranger is
     "unknown" (the enrolled name never shows); the same by file upload.
  V  verify by files: same person data-match="true", two people "false".
  F  detect page: a photo of one person lists 1 li[data-face], a group photo of multi/ as many
     as POST /api/v1/detect answers for the same file (the same boxes, in order; at least the
     ground truth's faces the detector is documented to find, at most all of them), upsampling 1
     the same; each face's yaw is HeadPose.yaw of the API's landmarks; live from the webcam
     shows the frontal face; stop and leaving the page end the camera; 360 px.
  G  collection picker: select#collection-select in the header lists the collections (default
     first, a new one at once); picking lobby enrolls there (in the API: in lobby, not in
     default), lists and opens its subject, and identify names the person only in lobby; a key
     bound to lobby sees its name instead, a recognize key neither.
  L  liveness: a still photo fails; hand-picked photos of one person turning left and right
     pass; the same turns with the person switching midway fail, saying so.
  P  scopes: a recognize key sees no subjects/enroll/keys/collections link and gets 403
     insufficient_scope on /api/v1/subjects.
  X  API keys page (create shows the key once, revoke) and collections page, checked in the API.
  A  axe-core on every page the session reaches, failing on serious or critical violations;
     at 360 px the overview has no horizontal scroll. No CSP violation or uncaught script
     error in any browser's console; no 5xx in the server's log, no console file missing.

One line per check; exit 1 when any check fails, 2 when the set-up fails. The temporary folder
(store, server.log, videos) is kept with --keep or when anything failed.
"""

import argparse
import base64
import datetime
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

from netra_http import Checks, FaceData, Server, brief, dig, free_port, http_request, multipart, netra, test_server_environment

try:
    from axe_selenium_python import Axe
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from fake_webcam import Shot, write_y4m
except ImportError as missing:  # pragma: no cover - set-up problem
    print(f"console_browser: {missing}: run with a Python that has selenium==4.51.0 "
          "axe-selenium-python==2.1.6 pillow==13.0.0", file=sys.stderr)
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(os.path.dirname(ROOT), "shared", "data", "faces")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 800

# --------------------------------------------------------------------------- the photos
# public/images/<file> with its identity in public/manifest.csv, and the face NETRA's
# POST /api/v1/detect finds in it (bbox x_min, y_min, x_max, y_max): the video frame is the 4:3
# region around that face (fake_webcam.Shot), the face about 200 px high in 640x480. The number
# after each is its yaw as the server measures it (docs/console.md, HeadPose.yaw: the nose
# base's offset from the midpoint of the eye centres, projected on the line through the eyes,
# in inter-eye distances; positive = the subject's own left), from the 5 landmarks of
# /api/v1/detect on the whole photo; the run measures it again on the video frames (check D).
#
# Picked by eye among obama's 12, angelina's 9, scarlett's 7, jack's 5 and kit's 3 photos, then
# by that measure. The heads visibly turned are obama's knn_test_obama1 (to his left, +0.136)
# and test_obama2 (to his right, -0.142; test_32bit.png is the same picture, -0.131), jack's
# img59 (to his right, but only -0.108 as measured) and kit_harington's john2 (-0.166). jack's
# img61 looks nearly frontal yet measures -0.145 (turned a little to his right, the head tilted),
# so it is the "right" turn of the switch video. Of the 84 photos with a face, 74 are within
# +-0.10 and the largest are -0.166 and +0.153: no photo turns far, so real turns are short of
# what a person in front of a camera makes, and these are the strongest there are. Frontal:
# test_obama -0.04, img17 -0.02 (but test_obama3 +0.11 and jack's frontal-looking img16 +0.10:
# a slightly rolled head reads as a small turn).
OBAMA = "face_recognition/obama"
OBAMA_FRONT = ("face_recognition/test_obama.jpg", OBAMA, (375, 154, 612, 391))  # -0.04, official portrait
OBAMA_QUERY = ("face_recognition/test_obama3.jpg", OBAMA, (357, 146, 522, 311))  # +0.11, another photo (Blue Room)
OBAMA_LEFT = ("face_recognition/knn_test_obama1.jpg", OBAMA, (463, 149, 804, 490))  # +0.136, turned to his left
OBAMA_RIGHT = ("face_recognition/test_obama2.jpg", OBAMA, (170, 278, 455, 562))  # -0.142, turned to his right
JACK_FRONT = ("deepface/img17.jpg", "deepface/jack", (369, 145, 567, 343))  # -0.02
JACK_RIGHT = ("deepface/img61.jpg", "deepface/jack", (89, 127, 429, 468))  # -0.145, a little to his right
STRANGER = ("deepface/img21.jpg", "deepface/jeff", (67, 130, 304, 367))  # never enrolled
# Enrolled from files (whole photos), and the multi/ photo ground_truth.csv counts 0 faces in.
FILE_PERSON = [("deepface/img5.jpg", "deepface/angelina"), ("deepface/img6.jpg", "deepface/angelina")]
NO_FACE = "dlib_dogs.jpg"
# Verify: two photos of scarlett; scarlett and sundar.
VERIFY_SAME = [("deepface/img50.jpg", "deepface/scarlett"), ("deepface/img49.jpg", "deepface/scarlett")]
VERIFY_OTHER = [("deepface/img50.jpg", "deepface/scarlett"), ("deepface/img25.jpg", "deepface/sundar")]

ENROLL_NAME, FILES_NAME = "obama", "angelina"
# Detect: one person (the whole photo), a group photo of multi/ whose ground_truth.csv has 3
# faces of 90-109 px, and one with faces of 63-90 px for upsampling 1. docs/models.md: the
# detector finds faces down to about 80 px, each upsampling step halves that.
DETECT_ONE = OBAMA_FRONT[0]
DETECT_GROUP = "dlib_2008_002506.jpg"
DETECT_SMALL = "dlib_2008_001322.jpg"
MMOD_MIN_FACE = {0: 80, 1: 40, 2: 20}
# The collection picker: collections made on the page and through the API, and the person
# enrolled in lobby only (identified there from another photo, never in default).
ANNEX, LOBBY = "annex", "lobby"
LOBBY_NAME, LOBBY_ENROLL, LOBBY_QUERY = "scarlett-lobby", VERIFY_SAME[0][0], VERIFY_SAME[1][0]
HOLD = 5  # frames per photo at 10 fps: 0.5 s

# The videos, one Chromium each. "turn" loops frontal, left, frontal, right (each 0.5 s) whatever
# is asked: a replay that must fail the liveness check, which wants each turn while it is asked.
VIDEOS = {
    "still": [(OBAMA_FRONT, 10)],  # webcam enrollment, and a still photo for liveness
    "query": [(OBAMA_QUERY, 10)],  # the enrolled person in another photo
    "stranger": [(STRANGER, 10)],
    "turn": [(OBAMA_FRONT, HOLD), (OBAMA_LEFT, HOLD), (OBAMA_FRONT, HOLD), (OBAMA_RIGHT, HOLD)],
    "switch": [(OBAMA_FRONT, HOLD), (OBAMA_LEFT, HOLD), (JACK_FRONT, HOLD), (JACK_RIGHT, HOLD)],
}
TURNS = {OBAMA_FRONT: "front", OBAMA_LEFT: "left", OBAMA_RIGHT: "right", JACK_FRONT: "front", JACK_RIGHT: "right"}

DOCS_SCREENSHOTS = ["overview", "subjects", "enroll-webcam", "identify-live", "verify", "detect", "keys", "overview-360"]
# Left out of the docs' copies: the webcam's picture and the photo the detect page draws (the
# public test photos are never copied into the repository). Boxes, landmarks and names stay.
DOCS_HIDDEN = "video, canvas#detect-canvas"

PAGES = {  # name -> (route, an element the page shows)
    "overview": ("#/overview", "#overview"),
    "subjects": ("#/subjects", "table#subject-table"),
    "enroll": ("#/enroll", "input#enroll-name"),
    "identify": ("#/identify", "input#identify-file"),
    "verify": ("#/verify", "input#verify-file1"),
    "detect": ("#/detect", "input#detect-file"),
    "keys": ("#/keys", "table#key-table"),
    "collections": ("#/collections", "table#collection-table"),
}


# --------------------------------------------------------------------------- small helpers

class Stop(Exception):
    """A step the rest of a section needs failed (already recorded as a failed check)."""


def error_code(answer):
    return dig(answer, "json", "error", "code")


class API:
    """The server's API with an API key (urllib), as a client that is not a browser."""

    def __init__(self, url, key):
        self.url, self.key = url, key

    def __call__(self, method, path, body=None, fields=None, key=None, headers=None):
        headers = dict(headers or {})
        if key or self.key:
            headers.setdefault("X-API-Key", key or self.key)
        data = None
        if fields is not None:
            data, headers["Content-Type"] = multipart(fields)
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        status, _, raw = http_request(self.url + path, method, data, headers, timeout=120)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return {"status": status, "json": parsed, "text": raw[:300].decode("utf-8", "replace")}

    def subject(self, name):
        """The subject called exactly `name` (with its faces), or None."""
        listed = self("GET", "/api/v1/subjects?limit=1000&name=" + urllib.parse.quote(name))
        found = [s for s in dig(listed, "json", "subjects", default=[]) if s.get("name") == name]
        if not found:
            return None
        return dig(self("GET", f"/api/v1/subjects/{found[0]['id']}"), "json")


class ServerLog:
    """The requests netra serve logged (method, path, status), read from server.log."""
    LINE = re.compile(r"hb\.request\.method=(\S+) hb\.request\.path=(\S+) hb\.response\.status=(\d+)")

    def __init__(self, server):
        self.server = server

    def entries(self, since=0):
        self.server.log.flush()
        with open(self.server.log_path, "rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", "replace")
        return [(m.group(1), m.group(2), int(m.group(3))) for m in self.LINE.finditer(text)]

    def mark(self):
        self.server.log.flush()
        return os.path.getsize(self.server.log_path)

    def wait_for(self, since, method, path, timeout=5):
        """The statuses logged for `method path` after `since`, waiting until there is one."""
        deadline = time.time() + timeout
        while True:
            found = [s for m, p, s in self.entries(since) if m == method and p == path]
            if found or time.time() > deadline:
                return found
            time.sleep(0.1)


class Photos(FaceData):
    """The face data, with the photos this test uses checked against its manifests."""

    def problems(self):
        found = []
        used = [p[:2] for shots in VIDEOS.values() for p, _ in shots] + FILE_PERSON + VERIFY_SAME + VERIFY_OTHER
        for file, identity in used:
            if self.identity.get("images/" + file) != identity:
                found.append(f"public/images/{file} is not {identity} in manifest.csv")
            if not os.path.exists(self.public(file)):
                found.append(f"{self.public(file)} is missing")
        if STRANGER[1] in {OBAMA, FILE_PERSON[0][1]}:
            found.append("the stranger is enrolled")
        if self.n_faces.get(NO_FACE) != 0 or not os.path.exists(self.multi(NO_FACE)):
            found.append(f"multi/images/{NO_FACE} is missing or has faces in ground_truth.csv")
        for name in (DETECT_GROUP, DETECT_SMALL):
            if self.n_faces.get(name, 0) < 2 or len(self.boxes.get(name, [])) != self.n_faces[name] or not os.path.exists(self.multi(name)):
                found.append(f"multi/images/{name} is missing or is not a group photo with its boxes in ground_truth.csv")
        return found

    def detectable(self, name, upsample):
        """How many of the ground truth's faces of multi/images/`name` are at least as large as
        the detector is documented to find with `upsample` (docs/models.md)."""
        return sum(1 for _, _, w, h in self.boxes[name] if min(w, h) >= MMOD_MIN_FACE[upsample])

    def shot(self, photo, frames=HOLD):
        return Shot(self.public(photo[0]), frames, face=photo[2])


def jpeg(image):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def yaw(landmarks):
    """docs/console.md's yaw from NETRA's 5 landmarks (0, 1 the eye on the image's right, 2, 3
    the eye on the image's left, 4 the nose base): the nose base's offset from the midpoint of
    the eye centres along the line through the eyes, in inter-eye distances."""
    p = [(float(q[0]), float(q[1])) if isinstance(q, (list, tuple)) else (float(q["x"]), float(q["y"])) for q in landmarks]
    right = ((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2)
    left = ((p[2][0] + p[3][0]) / 2, (p[2][1] + p[3][1]) / 2)
    axis = (right[0] - left[0], right[1] - left[1])
    nose = (p[4][0] - (right[0] + left[0]) / 2, p[4][1] - (right[1] + left[1]) / 2)
    return (nose[0] * axis[0] + nose[1] * axis[1]) / (axis[0] ** 2 + axis[1] ** 2)


# --------------------------------------------------------------------------- the browser

class CrossSite(http.server.ThreadingHTTPServer):
    """Pages of other origins that, once opened, post to the console's API on
    http://127.0.0.1:PORT: a no-cors multipart enroll with a face photo, then a form whose
    text/plain body is JSON (the classic trick against JSON endpoints). Served on another port
    of 127.0.0.1, reached as http://localhost:PORT2 it is another site (the SameSite=Strict
    cookie is not sent), as http://127.0.0.1:PORT2 the same site but another origin (the
    cookie is sent: the server's own origin check must refuse)."""

    def __init__(self, target, face):
        self.target, self.face = target, face
        super().__init__(("127.0.0.1", free_port()), CrossSiteHandler)
        port = self.server_address[1]
        self.other_site, self.same_site = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def page(self, tag):
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>another site</title></head><body>
<form id="f" method="POST" action="{self.target}/api/v1/subjects" enctype="text/plain">
<input type="hidden" name='{{"name":"csrf-form-{tag}","metadata":{{}},"x":"' value='"}}'></form>
<script>
fetch('/face.jpg').then(r => r.blob()).then(blob => {{
  const data = new FormData();
  data.append('name', 'csrf-enroll-{tag}');
  data.append('image', blob, 'face.jpg');
  return fetch('{self.target}/api/v1/enroll', {{method: 'POST', mode: 'no-cors', credentials: 'include', body: data}});
}}).catch(() => null).finally(() => document.getElementById('f').submit());
</script></body></html>""".encode()


class CrossSiteHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/face.jpg":
            body, kind = self.server.face, "image/jpeg"
        else:
            body, kind = self.server.page(re.sub(r"[^a-z-]", "", self.path.rpartition("=")[2])), "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_chromium(video, script=None):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", f"--window-size={WIDTH},{HEIGHT}", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", "--lang=en-US",
                     "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                     f"--use-file-for-fake-video-capture={video}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    if script:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})
    driver.set_script_timeout(60)
    set_viewport(driver, WIDTH, HEIGHT)
    return driver


def set_viewport(driver, width, height):
    """Resizes the window so that the page's viewport (window.innerWidth x innerHeight, what a
    screenshot shows) is width x height."""
    for _ in range(3):
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        if inner == [width, height]:
            return
        outer = driver.get_window_size()
        driver.set_window_size(outer["width"] + width - inner[0], outer["height"] + height - inner[1])


FETCH_JS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], Object.assign({credentials: 'same-origin'}, arguments[1] || {})).then(async r => {
  const text = await r.text(); let json = null;
  try { json = JSON.parse(text); } catch (e) {}
  done({status: r.status, json: json, text: text.slice(0, 300)});
}).catch(e => done({status: null, json: null, text: String(e)}));
"""

ACTIVE_JS = """
const e = document.activeElement;
if (!e || e === document.body) return e ? 'body' : null;
let d = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '');
if (e.getAttribute('href')) d += '[href="' + e.getAttribute('href') + '"]';
if (e.closest('nav#main-nav')) d = 'nav#main-nav ' + d;
return d;
"""

LEAK_JS = """
const key = arguments[0], found = [];
for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
  for (let i = 0; i < store.length; i++) {
    const k = store.key(i);
    if (k.includes(key) || (store.getItem(k) || '').includes(key)) found.push(name + ' ' + k);
  }
}
if (document.cookie.includes(key)) found.push('document.cookie');
if (document.documentElement.outerHTML.includes(key)) found.push('the DOM');
for (const i of document.querySelectorAll('input, textarea')) if ((i.value || '').includes(key)) found.push('the value of ' + (i.id || i.name || i.tagName));
if (location.href.includes(key)) found.push('the URL');
for (const p of Object.getOwnPropertyNames(window)) {
  try {
    const v = window[p];
    let t = '';
    if (typeof v === 'string') t = v;
    else if (v && typeof v === 'object' && !(v instanceof Node) && v !== window && v !== window.window) t = JSON.stringify(v) || '';
    if (t.includes(key)) found.push('window.' + p);
  } catch (e) {}
}
return found;
"""

# Records every data-name a result list ever shows (results may be replaced a frame later).
WATCH_JS = """
const list = document.querySelector(arguments[0]);
window.__netraSeen = [];
const note = () => list.querySelectorAll('li[data-name]').forEach(li => {
  if (!window.__netraSeen.includes(li.dataset.name)) window.__netraSeen.push(li.dataset.name); });
note();
new MutationObserver(note).observe(list, {childList: true, subtree: true, attributes: true});
"""


class Console:
    """One Chromium on the console, with the run's shared state."""

    def __init__(self, run, video_name, script=None):
        self.run, self.checks, self.name = run, run.checks, video_name
        started = time.monotonic()
        self.driver = start_chromium(run.videos[video_name], script)
        run.browsers.append(self)
        self.logs = []
        self.base = run.server.url
        if run.args.verbose:
            print(f"   chromium ({video_name} video) started in {time.monotonic() - started:.1f} s", flush=True)

    # -- waiting and finding
    def wait(self, condition, what, timeout=15, check=None):
        """condition(driver)'s first truthy value, else Stop (recorded as a failed check: `check`
        or "waited for `what`"). With `check`, success is recorded under that name too."""
        try:
            value = WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                  ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition(d))
        except TimeoutException:
            self.checks.check(check or f"waited for {what}", False,
                              f"waited {timeout} s for {what} on {self.location()}; {self.messages()}")
            raise Stop(what) from None
        if check:
            self.checks.check(check, True, f"{what}: {str(value)[:200]}")
        return value

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def find(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def text(self, css):
        """The text of the first `css`, None when there is none."""
        element = self.find(css)
        return element.text if element is not None else None

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def shown(self, css, timeout=15):
        return self.wait(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), None),
                         f"{css} to show", timeout)

    def attribute(self, css, name, timeout=15, what=None):
        """The non-empty value of attribute `name` of the first `css`, once it has one."""
        def value(driver):
            element = self.find(css)
            return element.get_attribute(name) if element is not None else None
        return self.wait(value, what or f"{css}[{name}]", timeout)

    def location(self):
        try:
            return self.driver.current_url
        except WebDriverException:
            return "?"

    def messages(self):
        """The console's #status and #error texts, to explain a failed wait."""
        try:
            texts = self.js("return ['#status', '#error'].map(s => { const e = document.querySelector(s);"
                            " return e ? s + ': ' + e.textContent.trim().slice(0, 200) : s + ' missing'; })")
            return "; ".join(texts)
        except WebDriverException as error:
            return repr(error)[:200]

    def fetch(self, path, method="GET", headers=None, body=None):
        options = {"method": method, "headers": headers or {}}
        if body is not None:
            options["body"] = json.dumps(body)
            options["headers"] = {"Content-Type": "application/json", **options["headers"]}
        return self.driver.execute_async_script(FETCH_JS, path, options)

    def active(self):
        return self.js(ACTIVE_JS)

    def press(self, *keys):
        ActionChains(self.driver).send_keys(*keys).perform()

    # -- pages
    def open(self, route="#/signin"):
        self.driver.get(f"{self.base}/console/{route}")

    def go(self, page, route=None):
        route = route or PAGES[page][0]
        self.js("if (location.hash !== arguments[0]) location.hash = arguments[0];", route)
        self.wait(lambda d: d.execute_script("return location.hash") == route, f"location #{route}", 5)
        return self.shown(PAGES[page][1] if page in PAGES else page)

    def sign_in(self, key, what):
        """Signs in with the form (not the keyboard-only way, K does that)."""
        self.open()
        field = self.shown("input#signin-key")
        field.clear()
        field.send_keys(key)
        self.shown("button#signin-submit").click()
        self.shown("button#signout")
        session = self.fetch("/api/v1/console/session")
        if not self.checks.check(f"signed in with the {what} key", dig(session, "json", "signed_in") is True, brief(session)):
            raise Stop("sign-in")
        return session["json"]

    def set_file(self, css, paths):
        element = self.wait(lambda d: self.find(css), css)
        element.send_keys("\n".join(paths) if isinstance(paths, list) else paths)

    def shot(self, name, show=None):
        """A screenshot of the viewport: scrolled to the top, or with `show` in the middle."""
        if show and self.find(show):
            self.js("arguments[0].scrollIntoView({block: 'center'})", self.find(show))
        else:
            self.js("window.scrollTo(0, 0)")
        path = os.path.join(self.run.artifacts, name + ".png")
        self.driver.save_screenshot(path)
        self.run.screenshots[name] = path
        if name in DOCS_SCREENSHOTS:
            # The docs' copy leaves the pictures out (DOCS_HIDDEN): the fake webcam plays the
            # public test photos, which are never copied into the repository, nor is the photo
            # the detect page draws. Boxes and names stay.
            hidden = self.js("const v = [...document.querySelectorAll(arguments[0])]; v.forEach(e => e.style.visibility = 'hidden');"
                             " return v.length", DOCS_HIDDEN)
            path = os.path.join(self.run.artifacts, name + ".docs.png")
            self.driver.save_screenshot(path)
            self.run.docs_screenshots[name] = path
            if hidden:
                self.js("document.querySelectorAll(arguments[0]).forEach(e => e.style.visibility = '')", DOCS_HIDDEN)

    def axe(self, page):
        """Fails on any violation of impact serious or critical."""
        axe = Axe(self.driver, self.run.args.axe_script) if self.run.args.axe_script else Axe(self.driver)
        axe.inject()
        results = axe.run()
        violations = results.get("violations", []) if isinstance(results, dict) else []
        bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
        lines = [f"{v['id']} ({v['impact']}): " + ", ".join(" ".join(n.get("target", [])) for n in v.get("nodes", [])[:6])
                 for v in bad]
        minor = [f"{v['id']} ({v.get('impact')})" for v in violations if v not in bad]
        self.checks.check(f"axe: no serious or critical violation on {page}", not bad and isinstance(results, dict),
                          "\n".join(lines) + (f"\n(also {', '.join(minor)})" if minor else "") if bad or minor
                          else f"{len(results.get('passes', []))} rules passed" if isinstance(results, dict) else brief(results))

    def collect_logs(self):
        if self.driver is None:
            return
        try:
            self.logs += self.driver.get_log("browser")
        except WebDriverException:
            pass

    def quit(self):
        if self.driver is None:
            return
        self.collect_logs()
        try:
            self.driver.quit()
        except WebDriverException:
            pass
        self.driver = None


# --------------------------------------------------------------------------- the checks

class Run:
    def __init__(self, args, server, keys, photos, videos, work):
        self.args, self.server, self.keys, self.photos, self.videos, self.work = args, server, keys, photos, videos, work
        self.checks = Checks(args.verbose)
        self.api = API(server.url, keys["admin"])
        self.log = ServerLog(server)
        self.artifacts = args.artifacts
        self.browsers, self.screenshots, self.docs_screenshots, self.state = [], {}, {}, {}

    def section(self, group, title, function, *args):
        self.checks.group = group
        started = time.monotonic()
        print(f"== {group}: {title}", flush=True)
        try:
            function(self, *args)
        except Stop:
            pass
        except Exception:  # noqa: BLE001 - one section's crash is a failure, the others still run
            self.checks.check(f"{title}: runs to the end", False, traceback.format_exc(limit=-3).strip())
        if self.args.verbose:
            print(f"   {group} took {time.monotonic() - started:.1f} s", flush=True)


def check_data(run):
    """The photos do what the tests need, measured by the server's API on the video frames
    (not the console: a failure here is the test data's)."""
    c, api = run.checks, run.api

    def frame(photo):
        return jpeg(run.photos.shot(photo).image())

    def verify(a, b):
        return api("POST", "/api/v1/verify", fields={"image1": ("a.jpg", a), "image2": ("b.jpg", b)})

    turn_yaw = dig(api("GET", "/api/v1/info"), "json", "liveness", "turn_yaw", default=0.10)
    yaws = {}
    for photo, turn in TURNS.items():
        answer = api("POST", "/api/v1/detect", fields={"image": ("frame.jpg", frame(photo))})
        faces = dig(answer, "json", "faces", default=[])
        yaws[photo[0]] = (round(yaw(faces[0]["landmarks"]), 3) if len(faces) == 1 else f"{len(faces)} faces", turn)
    detail = ", ".join(f"{os.path.basename(f)} {y} ({t})" for f, (y, t) in yaws.items())
    numeric = all(isinstance(y, float) for y, _ in yaws.values())
    # A margin on both sides of the server's liveness.turn_yaw, so that the liveness results
    # are the console's and the rules', not landmark noise.
    c.check(f"liveness frames: frontal |yaw| <= {turn_yaw} - 0.04, turned the right way by >= {turn_yaw} + 0.02",
            numeric and all((abs(y) <= turn_yaw - 0.04) if t == "front" else (y >= turn_yaw + 0.02 if t == "left" else y <= -turn_yaw - 0.02)
                            for y, t in yaws.values()), detail)
    print(f"       yaw on the 640x480 frames (liveness.turn_yaw {turn_yaw}): {detail}", flush=True)
    same = verify(frame(OBAMA_FRONT), frame(OBAMA_QUERY))
    c.check("frames: the query photo matches the enrolled one", dig(same, "json", "is_match") is True, brief(same))
    other = verify(frame(OBAMA_FRONT), frame(STRANGER))
    c.check("frames: the stranger does not", dig(other, "json", "is_match") is False, brief(other))
    turned = [verify(frame(OBAMA_FRONT), frame(p)) for p in (OBAMA_LEFT, OBAMA_RIGHT)]
    c.check("frames: obama turned matches obama frontal",
            all(dig(t, "json", "is_match") is True for t in turned),
            "similarities " + ", ".join(str(dig(t, "json", "similarity_score")) for t in turned))
    switch = verify(frame(OBAMA_FRONT), frame(JACK_FRONT))
    c.check("frames: jack is not obama", dig(switch, "json", "is_match") is False, brief(switch))


def check_headers(run):
    c, url = run.checks, run.server.url
    status, headers, body = http_request(url + "/console/")
    c.equal("GET /console/ answers 200", status, 200, body[:200])
    c.check("it is HTML", "text/html" in (headers.get("Content-Type") or ""), headers.get("Content-Type"))
    policy = headers.get("Content-Security-Policy") or ""
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in policy.split(";")) if d}
    c.check("CSP has default-src 'self'", directives.get("default-src") == ["'self'"], policy)
    script = directives.get("script-src", directives.get("default-src", []))
    c.check("CSP allows no inline or eval script", script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script,
            policy)
    c.check("CSP has frame-ancestors 'none'", directives.get("frame-ancestors") == ["'none'"], policy)
    c.equal("X-Frame-Options: DENY", headers.get("X-Frame-Options"), "DENY")
    status, headers, _ = http_request(url + "/", follow_redirects=False)
    location = urllib.parse.urljoin(url + "/", headers.get("Location") or "")
    c.check("/ redirects to /console/", status in (301, 302, 303, 307, 308) and location == url + "/console/",
            f"{status} Location {headers.get('Location')!r}")


def check_admin_browser(run):
    """The admin's Chromium (the still video): keyboard sign-in, session, CSRF, enrollment,
    verify, keys, collections, every page's axe, 360 px, sign-out, then a recognize key."""
    b = Console(run, "still")
    try:
        run.section("A", "the sign-in page", admin_signin_page, b)
        sections = [("K", "keyboard sign-in", admin_keyboard), ("S", "session cookie and no key in the page", admin_session),
                    ("A", "overview", admin_overview), ("C", "CSRF", admin_csrf), ("E", "webcam enrollment", admin_webcam),
                    ("L", "liveness: a still photo", admin_liveness_still), ("E", "enrollment from files", admin_files),
                    ("A", "subjects and a subject", admin_subjects), ("I", "identify page", admin_identify_page),
                    ("V", "verify", admin_verify), ("F", "detect page: photos and live", admin_detect),
                    ("X", "API keys page", admin_keys), ("X", "collections page", admin_collections),
                    ("G", "collection picker", admin_picker),
                    ("A", "overview after enrollment, and at 360 px", admin_overview_again),
                    ("S", "sign-out", admin_signout), ("P", "scopes of a recognize key", recognize_scopes),
                    ("G", "a key bound to a collection", bound_key_header)]
        for group, title, function in sections:
            if not run.state.get("signed_in") and group != "K":
                run.checks.check("the rest of the admin's browser", False, "not run: the sign-in failed")
                break
            run.section(group, title, function, b)
    finally:
        b.quit()


def admin_signin_page(run, b):
    b.open()
    b.shown("form#signin-form")
    field = b.find("input#signin-key")
    label = b.js("const i = arguments[0]; return (i.labels && i.labels.length ? i.labels[0].textContent : i.getAttribute('aria-label')) || ''", field) if field else ""
    run.checks.check('input#signin-key is labelled "API key"', "API key" in label, repr(label))
    b.axe("sign-in")
    b.shot("signin")


def admin_keyboard(run, b):
    c, key = run.checks, run.keys["admin"]
    b.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    trail = []
    for _ in range(20):
        b.press(Keys.TAB)
        trail.append(b.active())
        if trail[-1] == "input#signin-key":
            break
    if not c.check("Tab reaches input#signin-key", trail[-1] == "input#signin-key", " -> ".join(map(str, trail))):
        raise Stop("keyboard")
    b.press(key, Keys.ENTER)
    b.shown("button#signout")
    run.state["signed_in"] = True
    c.check("typing the key and Enter signs in", b.fetch("/api/v1/console/session")["json"].get("signed_in") is True)
    b.wait(lambda d: b.find('nav#main-nav a[href="#/subjects"]'), "the nav link to #/subjects")
    start = b.active()
    trail, stuck = [], 0
    for _ in range(40):
        before = b.active()
        b.press(Keys.TAB)
        trail.append(b.active())
        stuck += trail[-1] == before
        if trail[-1] == 'nav#main-nav a[href="#/subjects"]':
            break
    c.check("Tab moves the focus to the nav link of #/subjects", trail[-1] == 'nav#main-nav a[href="#/subjects"]',
            f"from {start}: " + " -> ".join(map(str, trail)))
    c.check("every Tab moved the focus", stuck == 0, " -> ".join(map(str, trail)))
    b.press(Keys.ENTER)
    b.wait(lambda d: d.execute_script("return location.hash") == "#/subjects" and b.find(PAGES["subjects"][1]),
           "location #/subjects and table#subject-table", 5, check="Enter on the link opens the subjects page")
    focus = b.active()
    c.check("the focus moves into the new page (not left on the nav link)", focus and "nav#main-nav" not in focus,
            f"focus on {focus}")


def admin_session(run, b):
    c, key = run.checks, run.keys["admin"]
    cookies = {k["name"]: k for k in b.driver.get_cookies()}
    cookie = cookies.get("netra_session")
    if not c.check("the netra_session cookie is set", cookie is not None, brief(list(cookies))):
        raise Stop("cookie")
    c.check("it is HttpOnly", cookie.get("httpOnly") is True, brief(cookie))
    c.equal("it is SameSite=Strict", cookie.get("sameSite"), "Strict")
    c.check("it is not the API key", key not in cookie.get("value", ""), "the cookie holds the key")
    run.state["cookie"] = cookie["value"]
    session = b.fetch("/api/v1/console/session")["json"] or {}
    c.check("the session has every scope and a CSRF token",
            set(session.get("scopes", [])) >= {"recognize", "manage", "admin"} and bool(session.get("csrf_token")), brief(session))
    try:
        left = datetime.datetime.fromisoformat(session["expires_at"].replace("Z", "+00:00")) - datetime.datetime.now(datetime.timezone.utc)
        hours = left.total_seconds() / 3600
    except (KeyError, AttributeError, ValueError, TypeError):
        hours = None
    c.check("it expires in 8 hours", hours is not None and 7.9 < hours <= 8.01, f"expires_at {session.get('expires_at')!r}")
    c.check("document.cookie does not show the session", "netra_session" not in b.js("return document.cookie")
            and cookie["value"] not in b.js("return document.cookie"), b.js("return document.cookie"))
    for page in ("subjects", "overview"):
        b.go(page)
        leaks = b.js(LEAK_JS, key)
        c.check(f"the key is nowhere in the page's reach on {page}", not leaks, ", ".join(leaks))
    status, _, raw = http_request(run.server.url + "/api/v1/console/session", headers={"Cookie": "netra_session=" + cookie["value"]})
    c.check("the cookie alone is the session (control for the sign-out check)", status == 200 and b'"signed_in":true' in raw.replace(b" ", b""),
            raw[:200])


def admin_overview(run, b):
    b.go("overview")
    b.wait(lambda d: (b.text("#ov-model") or "").strip(), "#ov-model to be filled")
    b.axe("overview")
    b.shot("overview-first")


def admin_csrf(run, b):
    c = run.checks
    b.go("overview")
    refused = b.fetch("/api/v1/subjects", "POST", body={"name": "csrf-control", "metadata": {}})
    c.check("POST /api/v1/subjects from the page without X-CSRF-Token: 403 csrf_token_invalid",
            refused["status"] == 403 and error_code(refused) == "csrf_token_invalid", brief(refused))
    wrong = b.fetch("/api/v1/subjects", "POST", headers={"X-CSRF-Token": "0" * 64}, body={"name": "csrf-control", "metadata": {}})
    c.check("with a wrong token: 403 csrf_token_invalid", wrong["status"] == 403 and error_code(wrong) == "csrf_token_invalid", brief(wrong))
    token = (b.fetch("/api/v1/console/session")["json"] or {}).get("csrf_token", "")
    made = b.fetch("/api/v1/subjects", "POST", headers={"X-CSRF-Token": token}, body={"name": "csrf-control", "metadata": {}})
    c.check("with the session's token: 201 (the control)", made["status"] == 201, brief(made))
    if made["status"] == 201:
        gone = b.fetch(f"/api/v1/subjects/{made['json']['id']}", "DELETE", headers={"X-CSRF-Token": token})
        c.check("DELETE with the token: 200", gone["status"] == 200, brief(gone))
    c.check("the refused POSTs created nothing", run.api.subject("csrf-control") is None, brief(run.api.subject("csrf-control")))

    faces_before = dig(run.api("GET", "/api/v1/info"), "json", "face_count")
    site = CrossSite(run.server.url, open(run.photos.public(OBAMA_FRONT[0]), "rb").read())
    try:
        for tag, origin, what in (("site", site.other_site, "another site"), ("origin", site.same_site, "another origin of the site")):
            mark = run.log.mark()
            b.driver.get(f"{origin}/attack.html?tag={tag}")
            b.wait(lambda d: d.current_url.startswith(run.server.url + "/api/v1/subjects"),
                   f"{what}'s form to post to the console's API", 15)
            try:
                shown = json.loads(b.driver.find_element(By.TAG_NAME, "body").text)
            except ValueError:
                shown = b.driver.find_element(By.TAG_NAME, "body").text[:200]
            form = run.log.wait_for(mark, "POST", "/api/v1/subjects")
            enroll = run.log.wait_for(mark, "POST", "/api/v1/enroll")
            if tag == "site":
                c.check(f"{what}'s form POST is refused (no 2xx)", form and all(not 200 <= s < 300 for s in form),
                        f"logged {form}; the browser showed {brief(shown)}")
                c.check(f"{what}'s no-cors enroll is refused (no 2xx)", enroll and all(not 200 <= s < 300 for s in enroll),
                        f"logged {enroll}")
            else:  # the cookie went along: the refusal must be the CSRF/origin rule's
                c.check(f"{what}'s form POST is refused with 403 cross_origin_write or csrf_token_invalid",
                        form == [403] and dig(shown, "error", "code") in ("cross_origin_write", "csrf_token_invalid"),
                        f"logged {form}; the browser showed {brief(shown)}")
                c.check(f"{what}'s no-cors enroll is refused with 403", enroll == [403], f"logged {enroll}")
            c.check(f"{what} created no subject",
                    run.api.subject(f"csrf-form-{tag}") is None and run.api.subject(f"csrf-enroll-{tag}") is None)
        c.equal("and enrolled no face", dig(run.api("GET", "/api/v1/info"), "json", "face_count"), faces_before)
    finally:
        site.shutdown()
        site.server_close()
    b.open("#/overview")
    b.shown("button#signout")


def admin_webcam(run, b):
    c = run.checks
    b.go("enroll")
    name = b.find("input#enroll-name")
    name.clear()
    name.send_keys(ENROLL_NAME)
    b.shown("button#enroll-camera-start").click()
    b.wait(lambda d: d.execute_script("const v = document.querySelector('video#enroll-video');"
                                      " return v && v.readyState >= 2 && v.videoWidth === 640"), "the webcam to play in video#enroll-video", 15)
    b.attribute("#enroll-quality[data-ok='true']", "data-ok", 30, "#enroll-quality data-ok=\"true\"")
    quality = b.find("#enroll-quality").text.strip()
    c.check("#enroll-quality turns data-ok=\"true\", showing face size, confidence and sharpness",
            re.search(r"\d+\s*px", quality) and re.search(r"confidence", quality, re.I) and re.search(r"sharp", quality, re.I), repr(quality))
    capture = b.wait(lambda d: next((e for e in b.all("button#enroll-capture") if e.is_enabled()), None),
                     "button#enroll-capture to be enabled", 10)
    capture.click()
    result = b.attribute("#enroll-camera-result", "data-result", 30)
    c.equal("#enroll-camera-result data-result", result, "enrolled", b.find("#enroll-camera-result").text[:200])
    b.shot("enroll-webcam", "video#enroll-video")
    subject = run.api.subject(ENROLL_NAME)
    c.check(f"the API has {ENROLL_NAME!r} with 1 face", subject and len(subject.get("faces", [])) == 1, brief(subject))
    run.state["obama"] = subject


def liveness(run, b, expect, shot):
    """Starts a challenge on the enroll page's webcam; data-passed and the result's text."""
    b.go("enroll")
    if not b.js("const v = document.querySelector('video#enroll-video'); return v && v.readyState >= 2 && v.videoWidth > 0"):
        b.shown("button#enroll-camera-start").click()
    b.wait(lambda d: d.execute_script("const v = document.querySelector('video#enroll-video');"
                                      " return v && v.readyState >= 2 && v.videoWidth === 640"), "the webcam to play", 15)
    b.js("const r = document.querySelector('#liveness-result'); if (r) r.removeAttribute('data-passed');")
    seen = []
    b.shown("button#liveness-start").click()

    def finished(driver):
        text = driver.execute_script("const e = document.querySelector('#liveness-instruction'); return e ? e.textContent.trim() : ''")
        if text and text not in seen:
            seen.append(text)
        return b.find("#liveness-result[data-passed]")
    b.wait(finished, "#liveness-result data-passed", 60)
    result = b.find("#liveness-result")
    passed, text = result.get_attribute("data-passed"), result.text.strip()
    c = run.checks
    c.equal("#liveness-result data-passed", passed, expect, f"result {text[:300]!r}; instructions {seen}")
    b.shot(shot, "#liveness-result")
    return passed, text, seen


def admin_liveness_still(run, b):
    liveness(run, b, "false", "liveness-still")
    reasons = [li.text for li in b.driver.find_elements(By.CSS_SELECTOR, "#liveness-result li")]
    run.checks.check("the failed result says the head did not turn", any("did not turn" in r for r in reasons), repr(reasons))


def admin_files(run, b):
    c = run.checks
    b.go("enroll")
    name = b.find("input#enroll-name")
    name.clear()
    name.send_keys(FILES_NAME)
    paths = [run.photos.public(f) for f, _ in FILE_PERSON] + [run.photos.multi(NO_FACE)]
    b.set_file("input#enroll-files", paths)
    b.shown("button#enroll-upload").click()
    items = b.wait(lambda d: (lambda li: li if len(li) == 3 and all(e.get_attribute("data-result") for e in li) else None)(
        b.all("ul#enroll-results li[data-file]")), "3 results in ul#enroll-results", 60)
    results = [(e.get_attribute("data-file"), e.get_attribute("data-result"), e.text.strip()) for e in items]
    c.equal("two enrolled", sorted(r for _, r, _ in results), ["enrolled", "enrolled", "rejected"], brief(results))
    rejected = [r for r in results if r[1] == "rejected"]
    c.check("the photo without a face is the rejected one, with a reason",
            len(rejected) == 1 and NO_FACE in (rejected[0][0] or "") and len(rejected[0][2].replace(NO_FACE, "").strip()) > 3,
            brief(rejected))
    progress = b.js("const p = document.querySelector('progress#enroll-progress'); return p ? [p.value, p.max] : null")
    c.check("progress#enroll-progress is full", progress and progress[1] > 0 and progress[0] == progress[1], brief(progress))
    b.shot("enroll-files", "ul#enroll-results")
    b.axe("enroll")
    subject = run.api.subject(FILES_NAME)
    c.check(f"the API has {FILES_NAME!r} with 2 faces", subject and len(subject.get("faces", [])) == 2, brief(subject))
    run.state["angelina"] = subject


def admin_subjects(run, b):
    c = run.checks
    b.go("subjects")
    ids = [s["id"] for s in (run.state.get("obama"), run.state.get("angelina")) if s]
    rows = b.wait(lambda d: b.all("table#subject-table tr[data-subject-id]") or None, "rows in table#subject-table")
    listed = {r.get_attribute("data-subject-id") for r in rows}
    c.check("table#subject-table lists the enrolled subjects", ids and all(str(i) in listed for i in ids), f"{listed} vs {ids}")
    b.axe("subjects")
    b.shot("subjects")
    search = b.find("input#subject-search")
    if c.check("input#subject-search is there", search is not None):
        search.send_keys(FILES_NAME)
        filtered = b.wait(lambda d: (lambda r: r if r and all(FILES_NAME in x.text for x in r) else None)(
            b.all("table#subject-table tr[data-subject-id]")), f"the search to list only {FILES_NAME}", 10)
        c.check("the search filters the table", len(filtered) == 1, [r.text for r in filtered])
    if not run.state.get("obama"):
        raise Stop("no subject")
    obama = run.state["obama"]
    b.go("#subject-detail", f"#/subjects/{obama['id']}")
    b.wait(lambda d: ENROLL_NAME in (b.text("#subject-detail") or "") + (b.js("const i = document.querySelector('input#subject-rename');"
                                                                          " return i ? i.value : ''")), "the subject's name")
    faces = b.wait(lambda d: b.all("table#subject-faces tr:has(td)") or None, "a row in table#subject-faces")
    c.equal("table#subject-faces has the 1 face", len(faces), 1)
    c.check("the subject page shows no picture", not b.all("#subject-detail img, #subject-detail canvas"))
    b.axe("a subject")
    b.shot("subject")


def admin_identify_page(run, b):
    c = run.checks
    b.go("identify")
    for photo, expect in ((OBAMA_QUERY, ENROLL_NAME), (STRANGER, "unknown")):
        b.js("const l = document.querySelector('ul#identify-results'); if (l) l.replaceChildren();")
        b.set_file("input#identify-file", run.photos.public(photo[0]))
        b.shown("button#identify-upload").click()
        names = b.wait(lambda d: [e.get_attribute("data-name") for e in b.all("ul#identify-results li[data-name]")] or None,
                       "a result in ul#identify-results", 30)
        c.check(f"identify a file of {photo[1]}: {expect}", names == [expect], brief(names))
    b.axe("identify")
    b.shot("identify")


def admin_verify(run, b):
    c = run.checks
    b.go("verify")
    for (one, two), expect in ((VERIFY_SAME, "true"), (VERIFY_OTHER, "false")):
        b.js("const r = document.querySelector('#verify-result'); if (r) r.removeAttribute('data-match');")
        b.set_file("input#verify-file1", run.photos.public(one[0]))
        b.set_file("input#verify-file2", run.photos.public(two[0]))
        b.shown("button#verify-submit").click()
        match = b.attribute("#verify-result", "data-match", 30)
        text = b.find("#verify-result").text.strip()
        c.equal(f"verify {os.path.basename(one[0])} and {os.path.basename(two[0])} ({two[1]}): data-match", match, expect, repr(text))
        c.check("the result shows the similarity", re.search(r"\d", text), repr(text))
        if expect == "true":
            b.shot("verify", "#verify-result")
    b.axe("verify")


def detect_photo(run, b, path, upsample=""):
    """Detects the faces of `path` on the detect page (select#detect-upsample `upsample`, ""
    for the service's setting) and through the API: the page's li[data-face] (bbox, yaw, turn,
    text) and the API's faces."""
    Select(b.find("select#detect-upsample")).select_by_value(upsample)
    b.js("const l = document.querySelector('ul#detect-results'); if (l) l.replaceChildren();")
    b.set_file("input#detect-file", path)
    b.shown("button#detect-submit").click()
    b.wait(lambda d: b.all("ul#detect-results li") or None, f"a result in ul#detect-results for {os.path.basename(path)}", 60)
    page = [{"bbox": e.get_attribute("data-bbox"), "yaw": e.get_attribute("data-yaw"), "turn": e.get_attribute("data-turn"),
             "text": e.text.strip()} for e in b.all("ul#detect-results li[data-face]")]
    with open(path, "rb") as handle:
        fields = {"image": (os.path.basename(path), handle.read())}
    if upsample:
        fields["upsample"] = upsample
    answer = run.api("POST", "/api/v1/detect", fields=fields)
    faces = dig(answer, "json", "faces")
    if not run.checks.check(f"POST /api/v1/detect {os.path.basename(path)}" + (f" upsample {upsample}" if upsample else ""),
                            answer["status"] == 200 and isinstance(faces, list), brief(answer)):
        raise Stop("detect")
    return page, faces


def same_faces(run, what, page, faces, turn_yaw):
    """The page lists exactly the API's faces, in its order, each with the server's yaw and
    the turn it makes at liveness.turn_yaw."""
    c = run.checks
    api_boxes = [",".join(str(v) for v in f["bbox"]) for f in faces]
    c.equal(f"{what}: the page lists exactly the faces the API answers (boxes, in order)", [p["bbox"] for p in page], api_boxes)
    yaws = [yaw(f["landmarks"]) for f in faces]
    turns = ["left" if y >= turn_yaw else "right" if y <= -turn_yaw else "frontal" for y in yaws]
    shown = [float(p["yaw"]) if p["yaw"] else None for p in page]
    c.check(f"{what}: each face's yaw is the server's HeadPose.yaw of its landmarks, and its turn at {turn_yaw}",
            len(shown) == len(yaws) and all(s is not None and abs(s - y) <= 0.0006 for s, y in zip(shown, yaws))
            and [p["turn"] for p in page] == turns,
            f"page {[(p['yaw'], p['turn']) for p in page]}, API landmarks {[(round(y, 4), t) for y, t in zip(yaws, turns)]}")


def admin_detect(run, b):
    c, photos = run.checks, run.photos
    turn_yaw = dig(run.api("GET", "/api/v1/info"), "json", "liveness", "turn_yaw", default=0.10)
    b.go("detect")
    label = b.js("const s = document.querySelector('select#detect-upsample');"
                 " return s && s.labels && s.labels.length ? s.labels[0].textContent.trim() : ''")
    c.check("select#detect-upsample is labelled", bool(label), repr(label))
    note = b.text("#view") or ""
    c.check("the page says the photo is not stored", re.search(r"\b(not|never|neither)\b[^.]*\bstor", note, re.I), note[:300])

    page, faces = detect_photo(run, b, photos.public(DETECT_ONE))
    c.equal(f"a photo of one person ({os.path.basename(DETECT_ONE)}): 1 li[data-face]", len(page), 1, brief(page))
    same_faces(run, "one person", page, faces, turn_yaw)
    text = page[0]["text"] if page else ""
    c.check("the face's line gives its box size, confidence and head turn",
            re.search(r"\d+ × \d+ px", text) and "confidence" in text and re.search(r"frontal|turned (left|right)", text), repr(text))
    size = b.js("const e = document.querySelector('canvas#detect-canvas'); return e ? [e.width, e.height] : null")
    c.check("canvas#detect-canvas shows the photo", size and size[0] > 0 and size[1] > 0, brief(size))

    truth, documented = photos.n_faces[DETECT_GROUP], photos.detectable(DETECT_GROUP, 0)
    page, faces = detect_photo(run, b, photos.multi(DETECT_GROUP))
    same_faces(run, f"group photo {DETECT_GROUP}", page, faces, turn_yaw)
    c.check(f"{DETECT_GROUP}: {len(page)} li[data-face], the ground truth's {truth} faces"
            f" ({documented} of them at least {MMOD_MIN_FACE[0]} px, which the detector is documented to find)",
            documented <= len(page) <= truth and len(page) >= 2, f"{len(page)} listed")
    b.shot("detect-group", "ul#detect-results")

    documented = photos.detectable(DETECT_SMALL, 1)
    page, faces = detect_photo(run, b, photos.multi(DETECT_SMALL), upsample="1")
    same_faces(run, f"{DETECT_SMALL} with upsampling 1", page, faces, turn_yaw)
    plain = dig(run.api("POST", "/api/v1/detect", fields={"image": (DETECT_SMALL, open(photos.multi(DETECT_SMALL), "rb").read())}),
                "json", "faces", default=[])
    c.check(f"{DETECT_SMALL} with upsampling 1: at least the {documented} faces of {MMOD_MIN_FACE[1]} px or more",
            len(page) >= documented, f"{len(page)} listed; {len(plain)} without upsampling; ground truth {photos.n_faces[DETECT_SMALL]}")

    # Live, from the still video (the frontal portrait).
    page, faces = detect_photo(run, b, photos.multi(DETECT_GROUP))  # the photo panel as the docs show it
    b.shown("button#detect-live-start").click()
    b.wait(lambda d: d.execute_script("const v = document.querySelector('video#detect-video');"
                                      " return v && v.readyState >= 2 && v.videoWidth === 640"), "the webcam in video#detect-video", 15)
    live = b.wait(lambda d: [(e.get_attribute("data-turn"), e.text) for e in b.all("ul#detect-live-results li[data-face]")] or None,
                  "ul#detect-live-results li[data-face]", 30, check="live detect of the still video shows a face")
    c.check("one face, frontal (the video's portrait measures |yaw| < turn_yaw - 0.04 in check D)",
            len(live) == 1 and live[0][0] == "frontal", brief(live))
    c.check("canvas#detect-overlay has the frame's size", b.js("const o = document.querySelector('canvas#detect-overlay');"
                                                                 " return o && o.width === 640 && o.height === 480"))
    b.shot("detect", "ul#detect-results")
    b.axe("detect")
    b.shown("button#detect-live-stop").click()
    b.wait(lambda d: d.execute_script("const v = document.querySelector('video#detect-video');"
                                      " return !v || !v.srcObject || v.srcObject.getVideoTracks().every(t => t.readyState === 'ended')"),
           "the camera's tracks to end", 5, check="#detect-live-stop stops the camera")
    # Leaving the page while live stops the camera too.
    b.shown("button#detect-live-start").click()
    b.wait(lambda d: b.all("ul#detect-live-results li[data-face]") or None, "live detect again", 30)
    b.js("window.__netraDetectTracks = document.querySelector('video#detect-video').srcObject.getVideoTracks();")
    b.go("overview")
    b.wait(lambda d: d.execute_script("return window.__netraDetectTracks.every(t => t.readyState === 'ended')"),
           "the detect page's camera tracks to end", 5, check="leaving the detect page stops its camera")

    set_viewport(b.driver, 360, HEIGHT)
    try:
        b.wait(lambda d: d.execute_script("return window.innerWidth") == 360, "the viewport to be 360 px wide", 5)
        b.go("detect")
        detect_photo(run, b, photos.multi(DETECT_GROUP))
        sizes = b.js("return [document.documentElement.scrollWidth, window.innerWidth]")
        c.check("at 360 px the detect page does not scroll sideways", sizes[0] <= sizes[1] + 1, f"scrollWidth {sizes[0]}, innerWidth {sizes[1]}")
        b.shot("detect-360", "ul#detect-results")
    finally:
        set_viewport(b.driver, WIDTH, HEIGHT)


def pick_collection(b, name):
    """Picks `name` in the header's select#collection-select; waits for the page shown again."""
    select = b.wait(lambda d: b.find(f'select#collection-select option[value="{name}"]') and b.find("select#collection-select"),
                    f"{name} in select#collection-select", 10)
    b.js("document.getElementById('status').textContent = ''")
    Select(select).select_by_value(name)
    b.wait(lambda d: f"collection {name}" in (b.text("#status") or ""), f"#status to say the page works in {name}", 10)


def admin_picker(run, b):
    c, api = run.checks, run.api
    made = api("POST", "/api/v1/collections", body={"name": LOBBY})
    if not c.check(f"POST /api/v1/collections makes {LOBBY}", made["status"] == 201, brief(made)):
        raise Stop("collection")
    b.go("enroll")  # a navigation: the header lists the collections again
    b.wait(lambda d: b.find(f'select#collection-select option[value="{LOBBY}"]'), f"{LOBBY} in select#collection-select", 10)
    options = b.js("return [...document.querySelectorAll('select#collection-select option')].map(o => o.value)")
    c.check("select#collection-select lists the collections, default first",
            options and options[0] == "default" and {ANNEX, LOBBY} <= set(options), brief(options))
    label = b.js("const s = document.querySelector('select#collection-select');"
                 " return s && s.labels && s.labels.length ? s.labels[0].textContent.trim() : ''")
    c.equal('it is labelled "Collection"', label, "Collection")
    c.equal("it starts at default", b.js("return document.querySelector('select#collection-select').value"), "default")

    pick_collection(b, LOBBY)
    c.check("the enroll page is shown again", b.js("return location.hash") == "#/enroll" and b.find("input#enroll-name"))
    name = b.shown("input#enroll-name")
    name.clear()
    name.send_keys(LOBBY_NAME)
    b.set_file("input#enroll-files", run.photos.public(LOBBY_ENROLL))
    b.shown("button#enroll-upload").click()
    result = b.attribute("ul#enroll-results li[data-file]", "data-result", 60)
    c.equal(f"enrolled {os.path.basename(LOBBY_ENROLL)} with the picker on {LOBBY}", result, "enrolled",
            b.text("ul#enroll-results") or "")
    in_lobby = [s for s in dig(api("GET", f"/api/v1/subjects?collection={LOBBY}&name={LOBBY_NAME}"), "json", "subjects", default=[])
                if s.get("name") == LOBBY_NAME]
    in_default = [s for s in dig(api("GET", f"/api/v1/subjects?name={LOBBY_NAME}"), "json", "subjects", default=[])
                  if s.get("name") == LOBBY_NAME]
    c.check(f"GET /api/v1/subjects?collection={LOBBY} has {LOBBY_NAME!r}", len(in_lobby) == 1, brief(in_lobby))
    c.check("and default does not", not in_default, brief(in_default))
    if not in_lobby:
        raise Stop("not enrolled")
    subject = in_lobby[0]

    b.go("subjects")
    rows = b.wait(lambda d: b.all("table#subject-table tr[data-subject-id]") or None, "rows in table#subject-table")
    listed = [r.get_attribute("data-subject-id") for r in rows]
    c.equal(f"the subjects page lists {LOBBY}'s one subject", listed, [str(subject["id"])])
    b.go("#subject-detail", f"#/subjects/{subject['id']}")
    b.wait(lambda d: b.js("const i = document.querySelector('input#subject-rename'); return i ? i.value : ''") == LOBBY_NAME,
           "the subject's name", 10, check=f"the subject page of {LOBBY_NAME} opens in {LOBBY}")

    def identify():
        b.go("identify")
        b.set_file("input#identify-file", run.photos.public(LOBBY_QUERY))
        b.shown("button#identify-upload").click()
        return b.wait(lambda d: [e.get_attribute("data-name") for e in b.all("ul#identify-results li[data-name]")] or None,
                      "a result in ul#identify-results", 30)
    names = identify()
    c.equal(f"identify {os.path.basename(LOBBY_QUERY)} with the picker on {LOBBY}: {LOBBY_NAME}", names, [LOBBY_NAME])
    pick_collection(b, "default")
    names = identify()
    c.check(f"with the picker on default it does not name {LOBBY_NAME}", names and LOBBY_NAME not in names, brief(names))
    b.shot("collection-picker")


def bound_key_header(run, b):
    c = run.checks
    made = run.api("POST", "/api/v1/apikeys", body={"name": "console-lobby", "scopes": ["recognize"], "collection": LOBBY})
    if not c.check(f"POST /api/v1/apikeys makes a key bound to {LOBBY}", made["status"] == 201, brief(made)):
        raise Stop("key")
    b.shown("button#signout").click()
    b.shown("form#signin-form")
    b.sign_in(made["json"]["key"], f"{LOBBY}-bound")
    shown = b.wait(lambda d: (b.text("#collection-bound") or "").strip() or None, "#collection-bound", 10)
    c.check(f"the header names the bound collection ({LOBBY}) as text", LOBBY in shown, repr(shown))
    c.check("and shows no select#collection-select", b.find("select#collection-select") is None)
    b.go("detect")
    b.axe("detect (a bound recognize key)")


def key_row(run, name):
    return next((k for k in dig(run.api("GET", "/api/v1/apikeys"), "json", "api_keys", default=[]) if k.get("name") == name), None)


def admin_keys(run, b):
    c = run.checks
    b.go("keys")
    b.find("input#key-name").send_keys("console-recognize")
    for box in b.all('input[name="key-scope"]'):
        if box.is_selected() != (box.get_attribute("value") == "recognize"):
            box.click()
    b.shown("button#key-create").click()
    created = b.wait(lambda d: re.search(r"netra_[A-Za-z0-9_\-]+", b.text("#key-created") or ""),
                     "#key-created to show the new key", 15).group(0)
    record = key_row(run, "console-recognize")
    c.check("the API lists the new key with scope recognize only", record and record.get("scopes") == ["recognize"], brief(record))
    check = run.api("GET", "/api/v1/info", key=created)
    c.equal("the shown key works (GET /api/v1/info with it)", check["status"], 200, brief(check))
    run.state["recognize_key"] = created
    if record:
        b.wait(lambda d: b.find(f'table#key-table tr[data-key-id="{record["id"]}"]'), "its row in table#key-table")
    made = run.api("POST", "/api/v1/apikeys", body={"name": "console-revoke", "scopes": ["recognize"]})
    victim = dig(made, "json", "api_key", "id")
    if c.check("POST /api/v1/apikeys (the admin key) makes a key to revoke", made["status"] == 201 and victim, brief(made)):
        b.go("overview")
        b.go("keys")
        b.wait(lambda d: b.find(f'table#key-table tr[data-key-id="{victim}"] button.key-revoke'), "its revoke button").click()
        try:
            WebDriverWait(b.driver, 2, 0.1).until(lambda d: b.find("dialog#confirm[open] #confirm-yes"))
            b.find("dialog#confirm[open] #confirm-yes").click()
        except TimeoutException:
            pass
        b.wait(lambda d: (key_row(run, "console-revoke") or {}).get("revoked_at"), "revoked_at in the API", 10,
               check="button.key-revoke revokes the key")
        c.equal("the revoked key is refused", run.api("GET", "/api/v1/info", key=made["json"]["key"])["status"], 401)
    c.check("#key-created shows the key once (not after leaving the page)", created not in b.driver.page_source,
            "the key is still in the page")
    b.axe("keys")
    b.shot("keys", "table#key-table")


def admin_collections(run, b):
    c = run.checks
    b.go("collections")
    b.find("input#collection-name").send_keys(ANNEX)
    b.shown("button#collection-create").click()
    b.wait(lambda d: ANNEX in (b.text("table#collection-table") or ""), f"{ANNEX} in table#collection-table", 10)
    listed = [x.get("name") for x in dig(run.api("GET", "/api/v1/collections"), "json", "collections", default=[])]
    c.check(f"the API has the collection {ANNEX}", ANNEX in listed, brief(listed))
    b.wait(lambda d: b.find(f'select#collection-select option[value="{ANNEX}"]'), f"{ANNEX} in the header's select#collection-select", 10,
           check="the header's picker lists the new collection at once")
    b.axe("collections")
    b.shot("collections")


def admin_overview_again(run, b):
    c = run.checks
    info = dig(run.api("GET", "/api/v1/info"), "json", default={})
    b.go("overview")
    b.wait(lambda d: re.search(rf"\b{info.get('subject_count')}\b", b.text("#ov-subjects") or ""),
           f"#ov-subjects to say {info.get('subject_count')}", 10)
    c.check("#ov-faces is the API's face count", re.search(rf"\b{info.get('face_count')}\b", b.find("#ov-faces").text),
            f"{b.find('#ov-faces').text!r} vs {info.get('face_count')}")
    events = dig(run.api("GET", "/api/v1/audit?limit=5"), "json", "events", default=[])
    table = b.wait(lambda d: b.find("table#ov-audit"), "table#ov-audit")
    c.check("table#ov-audit shows the newest audit event", events and events[0].get("action", "?") in table.text,
            f"{brief(events[:1])} vs {table.text[:200]!r}")
    b.shot("overview")
    set_viewport(b.driver, 360, HEIGHT)
    try:
        b.wait(lambda d: d.execute_script("return window.innerWidth") == 360, "the viewport to be 360 px wide", 5)
        b.open("#/overview")
        b.shown("#overview")
        b.wait(lambda d: (b.text("#ov-model") or "").strip(), "#ov-model to be filled")
        sizes = b.js("return [document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]")
        c.check("at 360 px the page does not scroll sideways", sizes[0] <= sizes[1] + 1 and sizes[2] <= sizes[1] + 1,
                f"scrollWidth {sizes[0]} (body {sizes[2]}), innerWidth {sizes[1]}")
        b.axe("overview at 360 px")
        b.shot("overview-360")
    finally:
        set_viewport(b.driver, WIDTH, HEIGHT)


def admin_signout(run, b):
    c = run.checks
    b.shown("button#signout").click()
    b.shown("form#signin-form")
    session = b.fetch("/api/v1/console/session")
    c.check("after sign-out GET /api/v1/console/session: signed_in false", dig(session, "json", "signed_in") is False, brief(session))
    subjects = b.fetch("/api/v1/subjects")
    c.equal("and /api/v1/subjects from the page: 401", subjects["status"], 401, brief(subjects))
    c.check("the cookie is gone from the browser", "netra_session" not in {k["name"] for k in b.driver.get_cookies() if k.get("value")})
    if run.state.get("cookie"):
        status, _, raw = http_request(run.server.url + "/api/v1/subjects", headers={"Cookie": "netra_session=" + run.state["cookie"]})
        c.equal("the old cookie replayed is refused (the session ended on the server)", status, 401, raw[:200])
    b.axe("sign-in after sign-out")


def recognize_scopes(run, b):
    c = run.checks
    key = run.state.get("recognize_key") or run.keys["recognize"]
    b.sign_in(key, "recognize-only" + (" (made on the keys page)" if run.state.get("recognize_key") else ""))
    b.wait(lambda d: b.find('nav#main-nav a[href="#/identify"]'), "the nav link to #/identify")
    links = [a.get_attribute("href").split("/console/")[-1] for a in b.all("nav#main-nav a[href]")]
    hidden = [r for r in ("#/subjects", "#/enroll", "#/keys", "#/collections") if b.find(f'nav#main-nav a[href="{r}"]')]
    c.check("nav#main-nav has no link to #/subjects, #/enroll, #/keys, #/collections", not hidden, f"links {links}")
    c.check("and has #/identify, #/verify and #/detect", b.find('nav#main-nav a[href="#/verify"]') is not None
            and b.find('nav#main-nav a[href="#/detect"]') is not None, f"links {links}")
    c.check("no collection picker for a key without the admin scope",
            b.find("select#collection-select") is None and b.find("#collection-bound") is None)
    answer = b.fetch("/api/v1/subjects")
    c.check("/api/v1/subjects from the page: 403 insufficient_scope",
            answer["status"] == 403 and error_code(answer) == "insufficient_scope", brief(answer))
    b.shot("overview-recognize")
    for page in ("overview", "identify", "verify", "detect"):
        b.go(page)
        b.axe(f"{page} (recognize key)")
    b.go("detect")
    page, faces = detect_photo(run, b, run.photos.public(DETECT_ONE))
    c.equal("the detect page works for a recognize key (1 face)", len(page), 1, brief(page))


def check_identify_live(run, video, expect, never=None, shot=None, key=None):
    """Live identify in a Chromium playing `video`: waits for li[data-name=expect]; with
    `never`, watches 3 s more that it never shows."""
    c = run.checks
    b = Console(run, video)
    try:
        b.sign_in(key or run.keys["recognize"], "recognize")
        b.go("identify")
        b.wait(lambda d: b.find("ul#identify-live-results"), "ul#identify-live-results")
        b.js(WATCH_JS, "ul#identify-live-results")
        b.shown("button#identify-live-start").click()
        b.wait(lambda d: d.execute_script("const v = document.querySelector('video#identify-video');"
                                          " return v && v.readyState >= 2 && v.videoWidth === 640"), "the webcam in video#identify-video", 15)
        b.wait(lambda d: b.text(f'ul#identify-live-results li[data-name="{expect}"]'),
               f'ul#identify-live-results li[data-name="{expect}"]', 30, check=f"live identify of the {video} video shows {expect!r}")
        if shot:
            b.shot(shot)
        if never:
            time.sleep(3)  # more frames identified, every result recorded by WATCH_JS
            seen = b.js("return window.__netraSeen")
            c.check(f"{never!r} never showed", never not in seen, f"seen {seen}")
        b.shown("button#identify-live-stop").click()
        b.wait(lambda d: d.execute_script("const v = document.querySelector('video#identify-video');"
                                          " return !v || !v.srcObject || v.srcObject.getVideoTracks().every(t => t.readyState === 'ended')"),
               "the camera's tracks to end", 5, check="#identify-live-stop stops the camera")
        return b
    finally:
        b.quit()


def check_stranger_and_revoke(run):
    c = run.checks
    made = run.api("POST", "/api/v1/apikeys", body={"name": "console-stranger", "scopes": ["recognize"]})
    if not c.check("POST /api/v1/apikeys makes a recognize key", made["status"] == 201, brief(made)):
        return
    b = Console(run, "stranger")
    try:
        b.sign_in(made["json"]["key"], "new recognize")
        b.go("identify")
        b.wait(lambda d: b.find("ul#identify-live-results"), "ul#identify-live-results")
        b.js(WATCH_JS, "ul#identify-live-results")
        b.shown("button#identify-live-start").click()
        b.wait(lambda d: b.text('ul#identify-live-results li[data-name="unknown"]'), 'li[data-name="unknown"]', 30,
               check="live identify of a stranger shows 'unknown'")
        b.shot("identify-unknown", "video#identify-video")
        time.sleep(3)
        seen = b.js("return window.__netraSeen")
        c.check(f"{ENROLL_NAME!r} never showed for the stranger", ENROLL_NAME not in seen, f"seen {seen}")
        b.shown("button#identify-live-stop").click()
        revoked = run.api("DELETE", f"/api/v1/apikeys/{made['json']['api_key']['id']}")
        c.equal("DELETE /api/v1/apikeys/{id}", revoked["status"], 200, brief(revoked))
        session = b.fetch("/api/v1/console/session")
        c.check("the revoked key's session ends (signed_in false)", dig(session, "json", "signed_in") is False, brief(session))
        c.equal("and its page's API calls are 401", b.fetch("/api/v1/info")["status"], 401)
    finally:
        b.quit()


def check_liveness(run, video, expect, reason=None, follow=False):
    """A liveness check on the enroll page with `video` as the webcam (or, with `follow`, a
    camera that follows the instructions); `reason`: a pattern one of the reasons must match."""
    b = Console(run, video, follower_script(run.photos) if follow else None)
    try:
        b.sign_in(run.keys["admin"], "admin")
        passed, text, seen = liveness(run, b, expect, f"liveness-{'follow' if follow else video}")
        c = run.checks
        c.check("#liveness-instruction told what to do", any("turn" in step.lower() for step in seen), f"{seen}")
        if reason:
            reasons = [li.text for li in b.driver.find_elements(By.CSS_SELECTOR, "#liveness-result li")]
            c.check(f"a reason says {reason!r}", any(re.search(reason, r, re.I) for r in reasons), repr(reasons))
    finally:
        b.quit()


def run_browsers(run):
    check_admin_browser(run)
    if run.state.get("obama"):
        run.section("I", "live identify: the enrolled person",
                    lambda r: check_identify_live(r, "query", ENROLL_NAME, shot="identify-live"))
        run.section("I", "live identify: a stranger, then the key revoked", check_stranger_and_revoke)
    else:
        run.checks.group = "I"
        run.checks.check("live identify", False, "not run: the webcam enrollment failed")
    run.section("L", "liveness: the person turns as the console asks", check_liveness, "still", "true", None, True)
    run.section("L", "liveness: a video turning both ways whatever is asked", check_liveness, "turn", "false", "when asked to turn")
    run.section("L", "liveness: the person switches midway", check_liveness, "switch", "false", "different person")
    run.checks.group = "-"
    check_browser_logs(run)


def check_browser_logs(run):
    c = run.checks
    bad = []
    for browser in run.browsers:
        for entry in browser.logs:
            message = entry.get("message", "")
            if (entry.get("source") == "security" or "Content Security Policy" in message or "Uncaught" in message
                    or "Refused to" in message):
                bad.append(f"{browser.name}: {message[:300]}")
    c.check(f"no CSP violation or uncaught error in {len(run.browsers)} browsers' consoles", not bad, "\n".join(bad[:10]))


# --------------------------------------------------------------------------- set-up and main

# The photos a person "shows" the camera while following the liveness instructions.
FOLLOWER = {"front": OBAMA_FRONT, "left": OBAMA_LEFT, "right": OBAMA_RIGHT}

# A camera in front of someone who follows the console's instructions: getUserMedia gives a
# canvas stream showing the frontal photo, and the photo turned the way #liveness-instruction
# asks 0.4 s after it asks (people take a moment). The fake capture device plays a fixed file,
# which cannot follow a random challenge; the page's own code is unchanged.
FOLLOWER_JS = """
(() => {
  const photos = %s;
  const images = {};
  for (const [pose, url] of Object.entries(photos)) { images[pose] = new Image(); images[pose].src = url; }
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 480;
  const context = canvas.getContext('2d');
  let shown = 'front', wanted = 'front', since = 0;
  function asked() {
    const element = document.querySelector('#liveness-instruction');
    const text = element ? element.textContent.toLowerCase() : '';
    return text.includes('left') ? 'left' : text.includes('right') ? 'right' : 'front';
  }
  setInterval(() => {
    const now = performance.now(), pose = asked();
    if (pose !== wanted) { wanted = pose; since = now; }
    if (wanted !== shown && now - since >= 400) shown = wanted;
    if (images[shown].complete) context.drawImage(images[shown], 0, 0, 640, 480);
  }, 50);
  navigator.mediaDevices.getUserMedia = async () => canvas.captureStream(10);
})();
"""


def follower_script(photos):
    """FOLLOWER_JS with the FOLLOWER photos as 640x480 JPEG data URLs (the frames the videos use)."""
    urls = {pose: "data:image/jpeg;base64," + base64.b64encode(jpeg(photos.shot(photo, 1).image())).decode()
            for pose, photo in FOLLOWER.items()}
    return FOLLOWER_JS % json.dumps(urls)


def write_videos(photos, folder):
    videos = {}
    for name, shots in VIDEOS.items():
        videos[name] = os.path.join(folder, name + ".y4m")
        write_y4m(videos[name], [photos.shot(photo, frames) for photo, frames in shots])
    return videos


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "netra"), help="the netra binary (default: %(default)s)")
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "config.yaml"), help="netra configuration (default: %(default)s)")
    parser.add_argument("--faces", default=FACES, help="the face data folder (default: %(default)s)")
    parser.add_argument("--artifacts", default=os.path.join(ROOT, ".build", "console-artifacts"),
                        help="where the screenshots go (default: %(default)s)")
    parser.add_argument("--docs-screenshots", action="store_true", help="also write docs/screenshots/*.png when every check passed")
    parser.add_argument("--axe-script", help="an axe.min.js to run instead of the one axe-selenium-python bundles (axe-core 3.1.1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (store, server.log, videos)")
    parser.add_argument("--verbose", action="store_true", help="print the detail behind every check, passed ones too")
    args = parser.parse_args()
    binary, config = os.path.abspath(args.binary), os.path.abspath(args.config)
    args.artifacts = os.path.abspath(args.artifacts)
    for path, what in ((binary, "netra binary (swift build --product netra)"), (CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")):
        if not os.access(path, os.X_OK):
            print(f"console_browser: no {what} at {path}", file=sys.stderr)
            return 2
    photos = Photos(args.faces)
    problems = photos.problems()
    if problems:
        print("console_browser: the face data does not fit: " + "; ".join(problems[:5]), file=sys.stderr)
        return 2
    os.makedirs(args.artifacts, exist_ok=True)

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="netra-console-")
    port = free_port()
    env = test_server_environment(work, port, ROOT)
    status, server, run = 2, None, None
    try:
        try:
            keys = {"admin": netra(binary, ["apikeys", "create", "--name", "console-admin", "--scope", "recognize,manage,admin"],
                                   config, work, env),
                    "recognize": netra(binary, ["apikeys", "create", "--name", "console-cli-recognize", "--scope", "recognize"],
                                       config, work, env)}
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"console_browser: set-up: {error}", file=sys.stderr)
            return 2
        server = Server([binary, "serve", "--config", config], work, env, port)
        videos = write_videos(photos, os.path.join(work, "videos"))
        failure = server.wait_ready()
        if failure:
            print(f"console_browser: netra serve: {failure}", file=sys.stderr)
            return 2
        print(f"netra serve ready on port {port} in {time.monotonic() - started:.1f} s (API keys required; {work})", flush=True)
        run = Run(args, server, keys, photos, videos, work)
        run.section("D", "the test photos, measured by the API", check_data)
        run.section("H", "headers", check_headers)
        if http_request(server.url + "/console/")[0] != 200:
            run.checks.check("the browser checks", False, "not run: GET /console/ is not 200")
        else:
            run_browsers(run)
        run.checks.group = "-"
        logged = run.log.entries()
        errors = [e for e in logged if e[2] >= 500]
        run.checks.check(f"no 5xx in the {len(logged)} requests netra logged", logged and not errors, brief(errors[:10]))
        missing = sorted({p for m, p, s in logged if p.startswith("/console/") and s >= 400})
        run.checks.check("every console file the browsers asked for was there", not missing, brief(missing))
        run.checks.check("netra serve still running", server.process.poll() is None, server.log_tail(5))

        failures = run.checks.failures
        print(f"\n{len(run.checks.results)} checks in {time.monotonic() - started:.1f} s; screenshots in {args.artifacts}")
        run.checks.print_failures()
        if args.docs_screenshots:
            missing = [n for n in DOCS_SCREENSHOTS if n not in run.docs_screenshots]
            if failures or missing:
                print(f"docs/screenshots not written: {len(failures)} failed checks, missing {missing}")
            else:
                folder = os.path.join(ROOT, "docs", "screenshots")
                os.makedirs(folder, exist_ok=True)
                for name in DOCS_SCREENSHOTS:
                    shutil.copyfile(run.docs_screenshots[name], os.path.join(folder, name + ".png"))
                print(f"wrote {len(DOCS_SCREENSHOTS)} screenshots to {folder}")
        print(f"console_browser: {len(run.checks.results) - len(failures)} passed, {len(failures)} failed")
        status = 1 if failures else 0
        return status
    finally:
        if run is not None:
            for browser in run.browsers:
                browser.quit()
        if server is not None:
            server.stop()
        if args.keep or status != 0:
            print(f"kept {work} (netra.db, server.log, videos)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
