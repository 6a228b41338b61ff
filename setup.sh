#!/usr/bin/env bash
# Set up KetaDesk from nothing on Debian: system libraries Qt needs, a virtualenv, the package.
# Idempotent: a second run installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"

# libpulse0: Qt Multimedia (alarm sound) will not import without it (DESIGN.md);
# libegl1/libgl1/libxkbcommon*/libfontconfig1/libdbus-1-3: PySide6 on a bare machine;
# xvfb: a real X display for screenshots of the real window; poppler-utils: checking PDF reports.
DEBS="libpulse0 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
      libxcb-cursor0 xvfb poppler-utils"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test,sdc]'
