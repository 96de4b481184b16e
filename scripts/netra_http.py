"""What the scripts that drive a live `netra serve` share (check_deployment.py, load_test.py,
compat_clients.py, console_browser.py): a free loopback port, a clean environment, the server
as a child process, a multipart/form-data body, one HTTP request, and the check recorder."""
import base64
import csv
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def multipart(fields):
    """`fields` (name -> text, or name -> (filename, bytes)) as a multipart body and its
    Content-Type value."""
    boundary = "netra-" + os.urandom(8).hex()
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, data = value
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def clean_environment(extra=None):
    """The environment for netra without any NETRA_* setting of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETRA_") and k != "CONFIG_PATH"}
    env.update(extra or {})
    return env


def test_server_environment(work, port, root):
    """The environment of a throw-away `netra serve` for a test driver: a random store key, the
    store and model cache in `work`, the repository's models, loopback `port`, API keys required,
    and no rate limit worth the name (every request of a test comes from 127.0.0.1)."""
    return clean_environment({
        "NETRA_SECRET_KEY": "base64:" + base64.b64encode(os.urandom(32)).decode(),
        "NETRA_DATA_DB": os.path.join(work, "netra.db"), "NETRA_MODEL_DIR": os.path.join(root, "models"),
        "NETRA_MODEL_CACHE_DIR": os.path.join(work, "cache"), "NETRA_APP_HOST": "127.0.0.1", "NETRA_APP_PORT": str(port),
        "NETRA_APP_REQUIRE_API_KEY": "true",
        "NETRA_APP_RATE_LIMIT_PER_SECOND": "100000", "NETRA_APP_RATE_LIMIT_BURST": "100000",
    })


def netra(binary, args, config, work, env):
    """Runs `netra ARGS --config CONFIG` in `work` (API keys for a test server, say); its
    standard output, or RuntimeError with the first of its error text."""
    result = subprocess.run([binary, *args, "--config", config], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"netra {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[:300]}")
    return result.stdout.strip()


class FaceData:
    """The shared face data (`../shared/data/faces`): identities of the public photos
    (`public/manifest.csv`), faces and hand-drawn boxes of the group photos
    (`multi/ground_truth.csv`), and their paths."""

    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, "public", "manifest.csv"), newline="", encoding="utf-8") as handle:
            self.identity = {row["file"]: row["identity"] for row in csv.DictReader(handle)}
        with open(os.path.join(folder, "multi", "ground_truth.csv"), newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        self.n_faces = {os.path.basename(row["file"]): int(row["n_faces"]) for row in rows}
        self.boxes = {os.path.basename(row["file"]): json.loads(row["boxes_ltwh"] or "[]") for row in rows}

    def public(self, name):
        return os.path.join(self.folder, "public", "images", name)

    def multi(self, name):
        return os.path.join(self.folder, "multi", "images", name)


class Server:
    """A process serving HTTP on 127.0.0.1:port, its output kept in a file."""

    def __init__(self, command, cwd, env, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(cwd, "server.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log_tail(self, lines=3, separator=" | "):
        """The last non-empty lines of the server's output."""
        self.log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            kept = [line.rstrip() for line in handle if line.strip()]
        return separator.join(kept[-lines:])

    def wait_ready(self, timeout=180):
        """None once /ready answers 200, else why not (it exited, failed to load, timed out)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                return f"exited with {self.process.returncode} before it was ready: {self.log_tail()}"
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=5) as response:
                    if response.status == 200:
                        return None
            except (urllib.error.URLError, OSError):
                pass
            # After a failed load /ready stays 503 for good: the log says why.
            self.log.flush()
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                failure = next((line.strip() for line in handle if "could not load" in line), None)
            if failure:
                return failure
            time.sleep(0.3)
        return f"not ready after {timeout} s: {self.log_tail()}"

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.log.close()
                return None
        self.log.close()
        return self.process.returncode

    def kill(self):
        """SIGKILL, as a crash would end it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_request(url, method="GET", body=None, headers=None, timeout=60, follow_redirects=True):
    """One HTTP request with urllib: (status, headers, body bytes), also for 4xx/5xx answers
    (and 3xx ones with follow_redirects=False); status None and the error as the body when
    nothing answered."""
    opener = urllib.request.build_opener(*([] if follow_redirects else [_NoRedirect()]))
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()
    except (urllib.error.URLError, OSError) as error:
        return None, {}, repr(error).encode()


# What the check-printing test drivers share (compat_clients.py, console_browser.py).

class Checks:
    """The check(name, condition, detail) recorder: one printed line per check."""

    def __init__(self, verbose=False):
        self.results = []
        self.group = "-"
        self.verbose = verbose

    def check(self, name, condition, detail=""):
        ok = bool(condition)
        self.results.append((self.group, name, ok, detail))
        line = f"{'ok  ' if ok else 'FAIL'} {self.group} {name}"
        if detail and (not ok or self.verbose):
            line += "\n       " + str(detail).replace("\n", "\n       ")
        print(line, flush=True)
        return ok

    def equal(self, name, actual, expected, context=""):
        return self.check(name, actual == expected, f"got {brief(actual)}, expected {brief(expected)} {context}".rstrip())

    @property
    def failures(self):
        return [r for r in self.results if not r[2]]

    def print_failures(self):
        """Lists the failed checks, one line each (the first line of their detail)."""
        failures = self.failures
        if failures:
            print(f"{len(failures)} failed:")
            for group, name, _, detail in failures:
                print(f"  - {group} {name}" + (f": {str(detail).splitlines()[0][:300]}" if detail else ""))


def brief(value, limit=400):
    """A short JSON rendering for a failure line (embeddings cut)."""
    def cut(v):
        if isinstance(v, dict):
            return {k: (f"<{len(x)} numbers>" if k == "embedding" and isinstance(x, list) else cut(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [cut(x) for x in v]
        return v
    try:
        text = json.dumps(cut(value), sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def dig(value, *path, default=None):
    """value[path[0]][path[1]]..., or default when any step is missing or the value is null."""
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return default
    return default if value is None else value
