#!/usr/bin/env bash
# Run the third-party client suites (simple-salesforce, jsforce, jsforce's own tests) against an sfemu binary.
# Usage: crates/sfemu/tests/clients/run.sh path/to/sfemu
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="${1:?usage: run.sh SFEMU_BINARY}"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
[ -x "$BIN" ] || { echo "run.sh: $BIN is not executable" >&2; exit 2; }

# --- install what is missing -------------------------------------------------
VENV="$HERE/python/.venv"
if ! "$VENV/bin/python" -c "import simple_salesforce, pytest" 2>/dev/null; then
  echo "run.sh: creating $VENV"
  python3 -m venv "$VENV" || exit 2
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/python/requirements.txt" || exit 2
fi
if [ ! -d "$HERE/js/node_modules/jsforce" ]; then
  echo "run.sh: npm ci in $HERE/js"
  (cd "$HERE/js" && npm ci --no-audit --no-fund --loglevel=error) || exit 2
fi

# --- start the emulator ------------------------------------------------------
source "$HERE/start-emulator.sh"
start_emulator run.sh "$BIN"

eval "$(python3 - "$WORK/startup.jsonl" <<'PY'
import json, shlex, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
env = {}
for l in lines:
    e = l["event"]
    if e == "listening":
        env.update(SFEMU_HTTP_URL=l["http_url"], SFEMU_HTTPS_URL=l["https_url"], SFEMU_CA_PEM=l["ca_pem_path"],
                   SFEMU_ADMIN_URL=l["admin_url"], SFEMU_PROD_LOGIN_URL=l["production_login_url"],
                   SFEMU_SANDBOX_LOGIN_URL=l["sandbox_login_url"])
    elif e == "org":
        p = "SFEMU_SANDBOX" if l["is_sandbox"] else "SFEMU_PROD"
        env.setdefault(p + "_ORG_ID", l["id"])
    elif e == "user":
        p = "SFEMU_SANDBOX" if l["environment"] == "sandbox" else "SFEMU_PROD"
        env.setdefault(p + "_USERNAME", l["username"]); env.setdefault(p + "_PASSWORD", l["password"])
        env.setdefault(p + "_USER_ID", l["id"])
    elif e == "connected_app":
        env.setdefault("SFEMU_CLIENT_ID", l["client_id"]); env.setdefault("SFEMU_CLIENT_SECRET", l["client_secret"])
for k, v in env.items():
    print(f"export {k}={shlex.quote(str(v))}")
PY
)"
export REQUESTS_CA_BUNDLE="$SFEMU_CA_PEM" NODE_EXTRA_CA_CERTS="$SFEMU_CA_PEM"
echo "run.sh: sfemu at $SFEMU_HTTPS_URL (pid $EMU_PID)"

# --- run the suites ------------------------------------------------------------
FAIL=0
(cd "$HERE/python" && "$VENV/bin/python" -m pytest -p no:cacheprovider tests) || FAIL=1
(cd "$HERE/js" && node --test --test-reporter=tap test/) || FAIL=1
# jsforce's own repository tests, unchanged, against an emulator of their own (see jsforce-suite/).
bash "$HERE/jsforce-suite/run.sh" "$BIN" || FAIL=1
if [ "$FAIL" -ne 0 ]; then echo "run.sh: client suites FAILED"; tail -20 "$WORK/stderr.log"; exit 1; fi
echo "run.sh: client suites passed"
