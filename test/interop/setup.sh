#!/usr/bin/env bash
# Installs the third-party verifiers that the interop tests run, into a cache outside the
# repository, keyed by a hash of what they are built from. A second run finds them and does nothing.
#
#   bash test/interop/setup.sh pyjwt     # PyJWT in a virtualenv; prints its python
#   bash test/interop/setup.sh go-oidc   # the go-oidc verifier binary; prints its path
#   bash test/interop/setup.sh schemathesis  # the API fuzzer (test/hardening/fuzz); prints its CLI
#   bash test/interop/setup.sh all       # all three (what .ci/run does before the tests)
#
# The cache is $LATCHKEY_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/latchkey. Needs python3 with
# venv (Debian: python3-venv) and Go >= 1.25; reaches PyPI and the Go module proxy on the first run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${LATCHKEY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey}
mkdir -p "$cache"

fail() {
  echo "test/interop/setup.sh: $*" >&2
  exit 1
}

hash_of() { sha256sum | cut -c1-16; }

# One builder at a time per tool (vitest runs test files in parallel).
lock() {
  exec 9>"$cache/$1.lock"
  flock 9
}

# A virtualenv with a pinned requirements file, keyed by that file and the python it runs on.
# venv NAME REQUIREMENTS: prints the virtualenv's directory.
venv() {
  command -v python3 >/dev/null || fail "python3 is missing (Debian: apt-get install python3 python3-venv)"
  local name=$1 requirements=$2 key dir
  key=$({
    cat "$requirements"
    python3 -c 'import os, sys; print(sys.version, os.path.realpath(sys.executable))'
  } | hash_of)
  dir="$cache/$name/$key"
  if [ ! -f "$dir/.complete" ]; then
    lock "$name"
    if [ ! -f "$dir/.complete" ]; then
      rm -rf "$dir"
      mkdir -p "$cache/$name"
      python3 -m venv "$dir" >&2 ||
        fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
      "$dir/bin/python" -m pip install --quiet --no-input --disable-pip-version-check \
        -r "$requirements" >&2 || fail "pip could not install $requirements"
      touch "$dir/.complete"
    fi
  fi
  echo "$dir"
}

pyjwt() {
  echo "$(venv pyenv "$here/python/requirements.txt")/bin/python"
}

schemathesis() {
  echo "$(venv schemathesis "$here/../hardening/fuzz/requirements.txt")/bin/schemathesis"
}

go_oidc() {
  command -v go >/dev/null || fail "go is missing: the go-oidc interop test needs Go >= 1.25 on PATH"
  local src="$here/go-oidc" key out work
  key=$({
    cat "$src/go.mod" "$src/go.sum" "$src/main.go"
    GOTOOLCHAIN=local go env GOVERSION GOOS GOARCH
  } | hash_of)
  out="$cache/go-oidc-verify/$key/go-oidc-verify"
  if [ ! -x "$out" ]; then
    lock go-oidc-verify
    if [ ! -x "$out" ]; then
      mkdir -p "$(dirname "$out")"
      # Built from a copy, so that nothing (go.sum, a build cache) is written into the repository.
      work=$(mktemp -d)
      cp "$src/go.mod" "$src/go.sum" "$src/main.go" "$work/"
      (cd "$work" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 \
        go build -trimpath -o "$out.partial" .) >&2 ||
        { rm -rf "$work"; fail "building test/interop/go-oidc failed (it needs Go >= 1.25 and the Go module proxy)"; }
      rm -rf "$work"
      mv "$out.partial" "$out"
    fi
  fi
  echo "$out"
}

case "${1:-}" in
  pyjwt) pyjwt ;;
  go-oidc) go_oidc ;;
  schemathesis) schemathesis ;;
  all)
    pyjwt
    go_oidc
    schemathesis
    ;;
  *) fail "usage: setup.sh pyjwt|go-oidc|schemathesis|all" ;;
esac
