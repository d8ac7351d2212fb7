#!/usr/bin/env bash
# The long form of the hardening suites (docs/reliability.md): every file under test/hardening with
# its full counts and durations (LATCHKEY_HARDENING=long), one file at a time so that the soak and the
# timing measurements have the machine to themselves; then the figures each check printed.
# Needs PostgreSQL (LATCHKEY_TEST_POSTGRES_URL, default the local test database) and root (the disk-full
# test mounts a small tmpfs). Takes about 30 minutes. Usage: npm run hardening:long [-- vitest filters]
set -euo pipefail
cd "$(dirname "$0")/../.."
export LATCHKEY_HARDENING=long
export LATCHKEY_TEST_POSTGRES_URL=${LATCHKEY_TEST_POSTGRES_URL:-postgres://latchkey:latchkey@127.0.0.1:5432/latchkey_test}
mkdir -p .tmp
log=.tmp/hardening-long.log
started=$(date +%s)
set +e
# No file parallelism and generous timeouts: each long check sets its own, these are the floor.
npx vitest run "${@:-test/hardening}" --no-file-parallelism --testTimeout=1800000 --hookTimeout=300000 \
  --reporter=default 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
echo "== figures (copy into docs/reliability.md with the date and the machine)"
# What the tests printed (vitest's "stdout | <file> > <test>" blocks): each check's figures.
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^(stdout|stderr) \| / { capture = 1; sub(/^(stdout|stderr) \| /, "-- "); print; next }
  capture && /^$/ { capture = 0; next }
  capture { print }'

echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); took $(( $(date +%s) - started )) s; exit status $status"
exit "$status"
