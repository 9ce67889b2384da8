#!/usr/bin/env bash
# Set up everything the tests need on a fresh clone, then run them.
# Exits with pytest's status.
set -euo pipefail
cd "$(dirname "$0")/.."

# The workbook tests recalculate in LibreOffice and in Gnumeric (ssconvert).
missing=()
if ! command -v soffice >/dev/null 2>&1 && ! command -v libreoffice >/dev/null 2>&1; then
    missing+=(libreoffice-calc poppler-utils)
fi
if ! command -v ssconvert >/dev/null 2>&1; then
    missing+=(gnumeric)
fi
# tests/test_verify.py watches the engines' connections with strace.
if ! command -v strace >/dev/null 2>&1; then
    missing+=(strace)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing ${missing[*]}" >&2
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "test.sh: ${missing[*]} missing and cannot be installed here (needs root and apt-get);" \
             "the spreadsheet tests will fail: install them, or set TITANIC_REG_SKIP_LIBREOFFICE=1" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# torch pinned in the same command: here 2.13.0 is a CPU build on disk; an unpinned one would download
# the multi-GB CUDA build from PyPI (see the README, "Which torch").
.venv/bin/pip install --quiet torch==2.13.0 -e '.[test]'

exec .venv/bin/python -m pytest -q "$@"
