#!/usr/bin/env bash
# Runs "$@" against a private JACK server with the dummy driver (48 kHz, 128-sample periods): no
# sound card needed, real PortAudio streams. The server gets a unique name (exported as
# JACK_DEFAULT_SERVER for the command) and is killed by PID when the command ends, whatever happens.
set -u
name="pttcam-test-$$-${RANDOM}"
export JACK_DEFAULT_SERVER="$name" JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
log="${TMPDIR:-/tmp}/$name.log"
jackd -n "$name" --no-realtime -d dummy -r 48000 -p 128 >"$log" 2>&1 &
jack_pid=$!
cleanup() {
  kill "$jack_pid" 2>/dev/null
  wait "$jack_pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT INT TERM
if ! jack_wait -s "$name" -w -t 10 >/dev/null 2>&1; then
  echo "run_with_jack: JACK server '$name' did not start; its log:" >&2
  cat "$log" >&2
  exit 1
fi
"$@"
