# shellcheck shell=bash
# Sourced by .ci/run: turns the containers test path on.
#
#   source .ci/containers.sh
#
# - starts (or reuses) a Docker engine: scripts/docker-engine start
# - builds the Redis/Webdis images from the host's Debian binaries (skipped
#   when they are already there): scripts/build-images
# - exports DOCKER_HOST, RELAY_TEST_STACK=containers (so a broken engine fails
#   the run instead of silently falling back to native), TESTCONTAINERS_* and
#   the image names
# - registers an EXIT trap (chained after any existing one) that removes
#   leftover containers and stops the engine, but only an engine it started.
#
# Run the native pass afterwards with RELAY_TEST_STACK=native on the command
# line, e.g. `RELAY_TEST_STACK=native npx vitest run test/integration test/faults`.
# Set RELAY_CI_CONTAINERS=0 to skip all of this (native only).

if [[ "${RELAY_CI_CONTAINERS:-1}" == 0 ]]; then
  echo "[ci:containers] RELAY_CI_CONTAINERS=0: containers path off, tests run native" >&2
  export RELAY_TEST_STACK=native
  return 0
fi

_relay_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

relay_containers_down() {
  local left
  left="$(docker ps -aq --filter label=mission-relay.test-stack=1 2>/dev/null | wc -l)"
  echo "[ci:containers] test-stack containers still present at exit: ${left}" >&2
  # Stops only an engine scripts/docker-engine started (pidfile); removes its containers first.
  "$_relay_root/scripts/docker-engine" stop || true
}

_relay_t0=$SECONDS
if ! _relay_env="$("$_relay_root/scripts/docker-engine" start)"; then
  echo "[ci:containers] could not start a Docker engine (set RELAY_CI_CONTAINERS=0 to run native only)" >&2
  return 1
fi
eval "$_relay_env"
_relay_t1=$SECONDS

# Chain our clean-up in front of an EXIT trap .ci/run may already have.
_relay_prev_trap="$(trap -p EXIT)"
if [[ -n "$_relay_prev_trap" ]]; then
  _relay_prev_cmd="$(eval "set -- ${_relay_prev_trap#trap -- }"; printf '%s' "$1")"
  # shellcheck disable=SC2064
  trap "relay_containers_down; $_relay_prev_cmd" EXIT
else
  trap relay_containers_down EXIT
fi

if ! "$_relay_root/scripts/build-images" >/dev/null; then
  echo "[ci:containers] building images failed" >&2
  return 1
fi
_relay_t2=$SECONDS

export DOCKER_HOST
export RELAY_TEST_STACK=containers
export RELAY_REDIS_IMAGE="${RELAY_REDIS_IMAGE:-mission-relay/redis:local}"
export RELAY_WEBDIS_IMAGE="${RELAY_WEBDIS_IMAGE:-mission-relay/webdis:local}"
export TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
echo "[ci:containers] engine $DOCKER_HOST ready in $((_relay_t1 - _relay_t0))s, images in $((_relay_t2 - _relay_t1))s:" \
  "$RELAY_REDIS_IMAGE $RELAY_WEBDIS_IMAGE" >&2
unset _relay_env _relay_t0 _relay_t1 _relay_t2 _relay_prev_trap _relay_prev_cmd
