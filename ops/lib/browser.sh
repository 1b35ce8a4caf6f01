#!/usr/bin/env bash
# A real headless browser for the console's tests: Debian's chromium and chromium-driver (installed with apt-get when
# missing, as ops/lib/pg.sh installs PostgreSQL) and Selenium from PyPI in a private virtualenv (.run/python-browser,
# made once; pip runs again only when the pin changes). Source this file, then call `browser_up`: it exports
# DIALER_BROWSER_PYTHON (the venv's python) and CHROMEDRIVER (the driver's path).
set -euo pipefail

SELENIUM_VERSION=${SELENIUM_VERSION:-4.45.0}

browser_up() {
    local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        echo "browser: installing Debian's chromium and chromium-driver" >&2
        local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq || { echo "browser: apt-get update failed" >&2; return 1; }
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
            || { echo "browser: apt-get could not install chromium and chromium-driver" >&2; return 1; }
    fi
    local venv="$root/.run/python-browser"
    local stamp="$venv/.pins-selenium-$SELENIUM_VERSION"
    if [ ! -f "$stamp" ]; then
        echo "browser: installing selenium==$SELENIUM_VERSION into $venv" >&2
        rm -rf "$venv"; mkdir -p "$root/.run"
        python3 -m venv "$venv" || { echo "browser: python3 -m venv failed" >&2; return 1; }
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "selenium==$SELENIUM_VERSION" >&2; then
            echo "browser: pip could not install selenium==$SELENIUM_VERSION (is PyPI reachable?)" >&2
            rm -rf "$venv"; return 1
        fi
        touch "$stamp"
    fi
    export DIALER_BROWSER_PYTHON="$venv/bin/python"
    CHROMEDRIVER=$(command -v chromedriver)
    export CHROMEDRIVER
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    browser_up
    echo "$DIALER_BROWSER_PYTHON"
fi
