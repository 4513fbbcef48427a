#!/usr/bin/env bash
# Idempotent set-up: Debian packages (browser, chromedriver, CJK fonts, PDF tools) and .venv.
# Fast and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="chromium chromium-driver fonts-noto-cjk fonts-arphic-ukai poppler-utils"
APT_NORECOMMENDS="libreoffice-writer-nogui"
missing=()
for p in $APT_PACKAGES $APT_NORECOMMENDS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    want=()
    for p in "${missing[@]}"; do case " $APT_PACKAGES " in *" $p "*) want+=("$p");; esac; done
    [ ${#want[@]} -gt 0 ] && apt-get install -y -qq "${want[@]}" >/dev/null
    apt-get install -y -qq --no-install-recommends $APT_NORECOMMENDS >/dev/null
  else
    echo "setup: please install these Debian packages (as root):" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
stamp=.venv/.setup-stamp
want_stamp=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat $stamp 2>/dev/null)" != "$want_stamp" ]; then
  echo "setup: creating .venv and installing the project"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  if ! .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2; exit 1
  fi
  echo "$want_stamp" > $stamp
fi
