#!/usr/bin/env bash
# Quick start: set up, then run the service on http://127.0.0.1:8100. Extra arguments go to `voice-ai serve`.
#
# On the embedded PostgreSQL (VOICE_AI_DATABASE_URL unset, in the environment and in ./.env) it also lays down
# the demo tenant once (`serve --demo`: creates what is missing, never changes what exists). Pointed at another
# database — FusionPBX's above all — it serves without --demo: the demo never writes into a real database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh run
demo=(--demo)
if [ -n "${VOICE_AI_DATABASE_URL:-}" ] || { [ -f .env ] && grep -Eq '^\s*(export\s+)?VOICE_AI_DATABASE_URL\s*=\s*\S' .env; }; then
  demo=()
  echo "==> VOICE_AI_DATABASE_URL is set: serving that database, without the demo tenant" >&2
fi
exec .venv/bin/voice-ai serve "${demo[@]}" "$@"
