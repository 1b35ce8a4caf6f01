#!/usr/bin/env bash
# The official Twilio helper library for Python, in a private virtualenv, for the test that drives the fake Twilio with it,
# openapi-spec-validator, for the test that validates the /v1 API's OpenAPI document, schemathesis, which fuzzes the live
# /v1 API against that document, and requests, the plain HTTP client of the API's contract walk.
# Source this file, then call `twilio_python_up`: it creates .run/python-twilio (once) with `python3 -m venv`, installs the
# pinned `twilio` release from PyPI with pip into it, and exports DIALER_TEST_PYTHON (the venv's python). Later calls reuse
# the venv: pip runs again only when the pin below changes. Run directly, it does the same and prints the interpreter's path.
set -euo pipefail

TWILIO_PYTHON_VERSION=${TWILIO_PYTHON_VERSION:-9.13.0}
OPENAPI_VALIDATOR_VERSION=${OPENAPI_VALIDATOR_VERSION:-0.9.0}
SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
REQUESTS_VERSION=${REQUESTS_VERSION:-2.34.2}

twilio_python_up() {
    local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    local venv="$root/.run/python-twilio"
    local pins=("twilio==$TWILIO_PYTHON_VERSION" "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
                "requests==$REQUESTS_VERSION")
    local stamp="$venv/.pins-$(printf '%s ' "${pins[@]}" | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        command -v python3 >/dev/null 2>&1 || { echo "python: python3 is needed for the Twilio library test" >&2; return 1; }
        echo "python: installing ${pins[*]} into $venv" >&2
        rm -rf "$venv"
        mkdir -p "$root/.run"
        # Each step checks itself: called from `twilio_python_up || ...`, `set -e` does not stop this function.
        python3 -m venv "$venv" || { echo "python: python3 -m venv failed" >&2; return 1; }
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2; then
            echo "python: pip could not install ${pins[*]} (is PyPI reachable?)" >&2
            rm -rf "$venv"
            return 1
        fi
        touch "$stamp"
    fi
    export DIALER_TEST_PYTHON="$venv/bin/python"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    twilio_python_up
    echo "$DIALER_TEST_PYTHON"
fi
