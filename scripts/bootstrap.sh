#!/usr/bin/env bash
# Set up everything the service (and, with "dev", the test suite) needs on Debian 12:
# Debian packages when run as root, then a virtual environment in .venv with the project installed.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-run}"   # run | dev
venv="${VOICE_AI_VENV:-.venv}"

debian_packages=(python3 python3-venv python3-pip ca-certificates)
if [ "$profile" = "dev" ]; then
  # the FreeSWITCH call flow's tests: Lua 5.3 (what mod_lua links on Debian 12) and 5.2, LuaSocket, lua-cjson,
  # busted (specs) and luacheck
  debian_packages+=(lua5.3 lua5.2 lua-socket lua-cjson lua-busted lua-check)
  # the FusionPBX app's tests: PHP with the extensions FusionPBX uses, PHPUnit, headless Chromium
  debian_packages+=(php-cli php-curl php-mbstring php-xml php-pgsql phpunit chromium chromium-driver fonts-dejavu-core)
fi

missing_debian_packages() {
  local pkg missing=()
  command -v dpkg-query >/dev/null 2>&1 || return 0
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

missing="$(missing_debian_packages "${debian_packages[@]}")"
if [ -n "${missing// /}" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "error: missing Debian packages: $missing" >&2
    echo "       run this script as root, or first: sudo apt-get install -y $missing" >&2
    exit 1
  fi
fi

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: Python 3.11 or newer is required ($("$python" --version 2>&1) found)" >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating virtual environment $venv"
  "$python" -m venv "$venv"
fi

extras="embedded,offline"
[ "$profile" = "dev" ] && extras="dev"
stamp="$venv/.installed-$extras-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing voice-ai-ivr[$extras] into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
