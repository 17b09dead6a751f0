#!/usr/bin/env bash
# jsforce's own repository tests (vendored unchanged, see SOURCE.md) against an sfemu binary.
# Usage: crates/sfemu/tests/clients/jsforce-suite/run.sh path/to/sfemu [jest args, e.g. test/query.test.ts]
# Starts its own emulator with the org the suite expects (setup-org.py), leaves out the tests
# listed in not-emulated.txt with jest's --testNamePattern, runs the blocks jsforce skips only
# for its CI (upstream-skipped.txt), prints `# pass N` / `# fail N`
# and exits non-zero when a test fails.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="${1:?usage: run.sh SFEMU_BINARY [jest args]}"; shift
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
[ -x "$BIN" ] || { echo "jsforce-suite: $BIN is not executable" >&2; exit 2; }
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(test/connection-crud.test.ts test/query.test.ts test/sobject.test.ts
  test/connection-meta.test.ts test/connection-session.test.ts test/oauth2.test.ts)

# --- install once: jsforce, jest/babel, puppeteer (no browser download), Node 22 ----------
# The npm cache lives in .cache/ (git-ignored); node_modules is reinstalled when the lock changes.
export PUPPETEER_SKIP_DOWNLOAD=1
STAMP="$HERE/node_modules/.sfemu-lock"
if ! cmp -s "$HERE/package-lock.json" "$STAMP" 2>/dev/null; then
  echo "jsforce-suite: npm ci in $HERE"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error --cache "$HERE/.cache/npm") || exit 2
  cp "$HERE/package-lock.json" "$STAMP"
fi
NODE="$HERE/node_modules/node/bin/node"
"$NODE" --version >/dev/null || { echo "jsforce-suite: Node 22 missing in node_modules" >&2; exit 2; }
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "jsforce-suite: no Chromium at $CHROMIUM (set CHROMIUM)" >&2; exit 2; }

# --- the emulator, configured as the suite's org --------------------------------------------
CONFIG="$(mktemp)"
python3 "$HERE/setup-org.py" config >"$CONFIG" || { rm -f "$CONFIG"; exit 2; }
source "$HERE/../start-emulator.sh"
start_emulator jsforce-suite "$BIN" --config "$CONFIG"
rm -f "$CONFIG"
SEED="$(python3 "$HERE/setup-org.py" seed "$WORK/startup.jsonl")" || { echo "jsforce-suite: seeding failed"; exit 2; }
eval "$SEED"
CA_PEM="$(python3 -c 'import json,sys; print(next(json.loads(l)["ca_pem_path"] for l in open(sys.argv[1]) if "\"listening\"" in l))' "$WORK/startup.jsonl")"
export NODE_EXTRA_CA_CERTS="$CA_PEM"

# The suite's web-login helper launches CHROME_BIN. Chromium does not read NODE_EXTRA_CA_CERTS,
# so a wrapper trusts exactly the key the emulator's HTTPS listener presents.
HOSTPORT="${SF_LOGIN_URL#https://}"; HOSTPORT="${HOSTPORT%%/*}"
SPKI="$(openssl s_client -connect "$HOSTPORT" -showcerts </dev/null 2>/dev/null | openssl x509 -pubkey -noout \
  | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
[ -n "$SPKI" ] || { echo "jsforce-suite: could not read the emulator's certificate" >&2; exit 2; }
cat >"$WORK/chromium" <<SH
#!/bin/sh
exec "$CHROMIUM" --ignore-certificate-errors-spki-list=$SPKI "\$@"
SH
chmod +x "$WORK/chromium"
export CHROME_BIN="$WORK/chromium"

# --- run: the listed tests that exercise what sfemu does not emulate are left out ---------------
# (and jsforce's describe.skip is lifted for the blocks in upstream-skipped.txt, see jest.sfemu.config.js)
PATTERN="$("$NODE" -e '
const names = require("fs").readFileSync(process.argv[1], "utf8").split("\n")
  .filter((l) => l.trim() && !l.startsWith("#"));
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
process.stdout.write("^(?!(?:" + names.map(esc).join("|") + ")).*");
' "$HERE/not-emulated.txt")"
echo "jsforce-suite: jsforce's tests against sfemu at $SF_LOGIN_URL (pid $EMU_PID)"
cd "$HERE" && mkdir -p .cache
PATH="$(dirname "$NODE"):$PATH" "$NODE" node_modules/jest/bin/jest.js --config jest.sfemu.config.js \
  --no-cache --testNamePattern "$PATTERN" --json --outputFile "$WORK/result.json" --runInBand --forceExit "${FILES[@]}" \
  >"$HERE/.cache/last-run.log" 2>&1
RC=$?
if [ -s "$WORK/result.json" ]; then cp "$WORK/result.json" "$HERE/.cache/last-result.json"; "$NODE" "$HERE/summary.js" "$WORK/result.json"; else tail -50 "$HERE/.cache/last-run.log"; echo "# fail 1"; fi
if [ "$RC" -ne 0 ]; then echo "jsforce-suite: FAILED"; tail -20 "$WORK/stderr.log"; exit 1; fi
echo "jsforce-suite: passed"
