#!/usr/bin/env bash
# Set up, then run the whole check: lint (ruff), types (mypy) and the test suite (pytest) against a
# real embedded PostgreSQL. Extra arguments go to pytest (e.g. tests/test_secrets.py -k mask).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev || exit 1

lint_paths=(src tests bench telephony)
echo "==> ruff";  .venv/bin/ruff check "${lint_paths[@]}" && .venv/bin/ruff format --check "${lint_paths[@]}" || exit 1
echo "==> mypy";  .venv/bin/mypy || exit 1
echo "==> pytest"
.venv/bin/pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
