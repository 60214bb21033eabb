#!/usr/bin/env bash
# Run the whole test suite in parallel. Used by `make test` and CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${PYTEST_WORKERS:-auto}"
# The approval UI test drives Debian's chromium (Playwright uses it as is; no browser download).
if [ ! -x /usr/bin/chromium ]; then
  echo "scripts/test.sh: installing Debian's chromium for the approval UI test" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The ledger suite runs on a real PostgreSQL too (Debian's package; started by the tests).
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "scripts/test.sh: installing Debian's postgresql for the ledger tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
set +e
.venv/bin/python -m pytest -n "$workers" --dist loadgroup -q "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  # pytest's "no tests collected": a test command that ran nothing proves nothing.
  echo "scripts/test.sh: pytest collected no tests (exit 5); treating as a failure" >&2
  exit 1
fi
exit "$code"
