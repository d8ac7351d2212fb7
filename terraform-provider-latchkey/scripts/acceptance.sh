#!/usr/bin/env bash
# The provider's checks, as CI runs them (from .ci/run, after `npm ci`):
#   tools (OpenTofu, hashicorp/time, staticcheck, tfplugindocs; built once into ~/.cache/latchkey),
#   gofmt, go vet, staticcheck, docs up to date, unit tests, and the acceptance tests against a real
#   OpenTofu and a real Latchkey server that the tests start from this checkout.
# Ends with "go: N passed, N failed, N skipped" (tests and checks) and exits non-zero on any failure.
# LATCHKEY_GO_SUMMARY=FILE also writes that line to FILE. TESTARGS='-run TestAccToken' narrows the run.
set -uo pipefail
summary_file=${LATCHKEY_GO_SUMMARY:-}
case "$summary_file" in "" | /*) ;; *) summary_file=$PWD/$summary_file ;; esac
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CHECKPOINT_DISABLE=1
CACHE=${LATCHKEY_TOOL_CACHE:-$HOME/.cache/latchkey}
started=$(date +%s)
failed_checks=()
summary() {
  local line="go: $1 passed, $2 failed, $3 skipped"
  echo "$line"
  if [ -n "$summary_file" ]; then echo "$line" > "$summary_file"; fi
}
check() { # name, command...
  local name=$1
  shift
  echo "-- $name"
  if ! "$@"; then failed_checks+=("$name"); fi
}

command -v go > /dev/null || { echo "go is not installed"; summary 0 1 0; exit 1; }
go version

echo "-- tools"
t0=$(date +%s)
if ! GO_TOOLS=$(bash scripts/tools.sh); then
  echo "could not build the tools"
  summary 0 1 0
  exit 1
fi
echo "tools ready in $(( $(date +%s) - t0 )) s"

check gofmt bash -c 'out=$(gofmt -l . tools); [ -z "$out" ] || { echo "not gofmt-ed:"; echo "$out"; false; }'
check "go vet" go vet ./...
check staticcheck "$GO_TOOLS/staticcheck" ./...
check "docs up to date" bash scripts/docs.sh --check

echo "-- unit and acceptance tests (TF_ACC=1, OpenTofu $(TF_CLI_CONFIG_FILE= "$CACHE/tofu-1.12.6/tofu" version 2>/dev/null | sed -n 1p | cut -d' ' -f2))"
log=$(mktemp)
t0=$(date +%s)
# TF_CLI_CONFIG_FILE: the filesystem mirror with hashicorp/time, and nothing downloaded.
TF_ACC=1 \
  TF_ACC_TERRAFORM_PATH="$CACHE/tofu-1.12.6/tofu" \
  TF_ACC_PROVIDER_HOST=registry.opentofu.org \
  TF_ACC_PROVIDER_NAMESPACE=hashicorp \
  TF_CLI_CONFIG_FILE="$CACHE/tofurc" \
  go test -count=1 -timeout 40m -v ${TESTARGS:-} ./... 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}
echo "tests took $(( $(date +%s) - t0 )) s"

passed=$(grep -cE '^--- PASS' "$log")
failed=$(grep -cE '^--- FAIL' "$log")
skipped=$(grep -cE '^--- SKIP' "$log")
rm -f "$log"
if [ "$test_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed_checks+=("go test (exit $test_status, no test reported failing: build or setup error)")
fi
for c in "${failed_checks[@]}"; do echo "failed check: $c"; done
echo "provider checks took $(( $(date +%s) - started )) s"
summary "$passed" $(( failed + ${#failed_checks[@]} )) "$skipped"
[ "$test_status" -eq 0 ] && [ ${#failed_checks[@]} -eq 0 ]
