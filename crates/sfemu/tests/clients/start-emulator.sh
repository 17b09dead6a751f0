# Sourced by the client suites' runners: starts an sfemu binary on free ports in a fresh
# $WORK folder, stops it (and removes $WORK) when the runner exits, and waits until it is
# ready; its startup events are in $WORK/startup.jsonl, its log in $WORK/stderr.log.
# Usage: start_emulator LABEL BINARY [SFEMU ARGUMENTS...]   (sets WORK and EMU_PID)
start_emulator() {
  local label="$1" bin="$2"
  shift 2
  WORK="$(mktemp -d)"
  "$bin" --json "$@" --bind 127.0.0.1:0 --https-bind 127.0.0.1:0 >"$WORK/startup.jsonl" 2>"$WORK/stderr.log" &
  EMU_PID=$!
  trap 'kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 1 400); do
    grep -q '"event":"ready"' "$WORK/startup.jsonl" 2>/dev/null && return 0
    kill -0 "$EMU_PID" 2>/dev/null || { echo "$label: sfemu exited"; cat "$WORK/stderr.log"; exit 2; }
    sleep 0.05
  done
  echo "$label: sfemu did not start"
  exit 2
}
