#!/usr/bin/env bash
# Quick start: set up, then run the service on embedded defaults (embedded PostgreSQL + pgvector,
# demo tenant) on http://127.0.0.1:8100. Extra arguments go to `voice-ai serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh run
exec .venv/bin/voice-ai serve --demo "$@"
