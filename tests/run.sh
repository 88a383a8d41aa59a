#!/usr/bin/env bash
# The test command (README): provisions what the integration tests need beyond the crates, then
# runs `cargo test` with any arguments given. Works on a fresh clone with nothing beside it:
#   - a Python venv under the build folder with aiosmtpd (a real SMTP server) and openpyxl (a
#     real xlsx library), from tests/helpers/requirements.txt, made once and reused;
#   - systemd-analyze (Debian's systemd package) for the deployment units, installed if missing;
#   - /usr/bin/time (Debian's time package), which measures the hostile imports, likewise.
# The tests find the venv through ICT_TEST_PYTHON; without it they fail and say to run this.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
venv=$(cd "$target" && pwd)/test-venv
stamp=$venv/.requirements
if ! cmp -s tests/helpers/requirements.txt "$stamp" 2>/dev/null || ! "$venv/bin/python" -c 'import aiosmtpd, openpyxl' 2>/dev/null; then
  echo "tests/run.sh: setting up $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/helpers/requirements.txt
  cp tests/helpers/requirements.txt "$stamp"
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "tests/run.sh: installing systemd-analyze (Debian's systemd package)" >&2
  sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "tests/run.sh: installing /usr/bin/time (Debian's time package) to measure imports" >&2
  sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends time >/dev/null
fi
export ICT_TEST_PYTHON=$venv/bin/python
exec cargo test "$@"
