#!/usr/bin/env bash
# Sets up .venv (Python 3.11) with Studio and its test tools, then runs ruff and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,torch]"
.venv/bin/ruff check studio tests
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q "$@"
