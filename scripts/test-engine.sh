#!/usr/bin/env bash
# A real Docker Engine (>= 25, with buildx and compose) for dlgen's engine tests, and stand-in
# base images under the exact names dlgen's templates emit, so generated Dockerfiles build
# unchanged with no registry.
#
#   scripts/test-engine.sh up      # install if needed, start dockerd, build the stand-ins
#   scripts/test-engine.sh down    # stop the dockerd this script started
#   scripts/test-engine.sh status
#   scripts/test-engine.sh plan [PKG...]  # simulate the apt install; exit 3 if it would upgrade/remove anything
#
# Debian 12 as root. Why (Debian 12's docker.io is
# Engine 20.10, which rejects HEALTHCHECK --start-interval; Debian 13's 26.1.5 installs on
# Debian 12 when each package is selected by release and Recommends are left out; the install is
# simulated first and refused if it would upgrade or remove any installed package). Both commands are idempotent.
#
# What a stand-in is: a minimal Debian 12 root file system (debootstrap) with Python 3.11 under the
# command name the real image uses, and for pytorch/pytorch tags the CPU build of torch 2.13.0
# (what this machine has on disk), whatever torch version the tag names. No curl and no wget,
# like the real pytorch/pytorch and python:*-slim images. What it is not: no CUDA, no conda, no
# nvcc in the -devel tag, not the real torch version; it proves that a bundle builds, boots, turns
# healthy and stops cleanly, not that it runs on a GPU.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
MIN_ENGINE=25
LOG=/var/log/dlgen-dockerd.log
PIDFILE=/var/run/dlgen-dockerd.pid
WORK="${DLGEN_ENGINE_WORK:-/var/cache/dlgen-engine}"
ROOTFS_IMAGE=dlgen-standin/debian:bookworm
# The base images the engine tests build FROM: dlgen's default torch/CUDA tag (runtime and
# devel) and the python image of the tensorboard preset.
TORCH_IMAGES="$(cd "$HERE/.." && python3 -c 'from dlgen import matrix; b = matrix.choose(None, None); print(b.image, b.image.replace("-runtime", "-devel"))' 2>/dev/null \
  || echo pytorch/pytorch:2.10.0-cuda12.8-cudnn9-runtime pytorch/pytorch:2.10.0-cuda12.8-cudnn9-devel)"
PYTHON_IMAGES="$(cd "$HERE/.." && python3 -c 'from dlgen import reference; print(reference.servers()["python_image"])' 2>/dev/null \
  || echo python:3.11-slim-bookworm)"
STANDIN_TORCH=2.13.0

say() { echo "test-engine: $*" >&2; }

engine_major() {
  docker version --format '{{.Server.Version}}' 2>/dev/null | cut -d. -f1
}

# The packages the engine needs, each with the release it comes from. Selecting the release per
# package (PKG/trixie) and not with `-t trixie` matters: -t makes trixie the default release
# (priority 990, above the 100 pin) and apt then upgrades half of a Debian 12 machine to 13.
ENGINE_PACKAGES="docker.io/trixie docker-cli/trixie docker-buildx/trixie docker-compose/trixie"

# apt_plan PKG...: simulate installing PKG without Recommends and print the plan (apt's Inst/Remv
# lines). Exit 3, after saying what would have changed, if the plan upgrades, downgrades or removes
# any installed package: this script only ever adds packages to the host.
apt_plan() {
  local sim
  sim="$(DEBIAN_FRONTEND=noninteractive apt-get -s install -y --no-install-recommends "$@" 2>&1)" || {
    say "apt cannot plan the install of $*:"; echo "$sim" | tail -n 5 >&2; return 3; }
  local changes
  # "Inst NAME [OLDVERSION] (...)" is an upgrade or downgrade of an installed package; "Remv" a removal.
  changes="$(echo "$sim" | grep -E '^(Remv |Inst [^ ]+ \[)' || true)"
  echo "$sim" | grep -E '^(Inst|Remv) ' || true
  if [ -n "$changes" ]; then
    say "refusing: installing $* would change $(echo "$changes" | wc -l) installed package(s):"
    echo "$changes" | sed 's/^/  /' >&2
    return 3
  fi
}

# safe_install PKG...: apt_plan, then the same install for real.
safe_install() {
  apt_plan "$@" >/dev/null || exit 3
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

add_trixie_source() {
  local src=/etc/apt/sources.list.d/debian.sources
  local uris signed
  uris="$(awk '/^URIs:/{print $2; exit}' "$src")"
  signed="$(awk '/^Signed-By:/{print $2; exit}' "$src")"
  local list=/etc/apt/sources.list.d/dlgen-trixie.sources pin=/etc/apt/preferences.d/dlgen-trixie
  if [ ! -f "$list" ] || [ ! -f "$pin" ] || [ ! -d /var/lib/apt/lists ] \
      || ! ls /var/lib/apt/lists/*trixie*Packages >/dev/null 2>&1; then
    cat > "$list" <<EOF
Types: deb
URIs: ${uris}
Suites: trixie
Components: main
Signed-By: ${signed}
EOF
    # Nothing comes from trixie unless it is asked for by name (PKG/trixie).
    cat > "$pin" <<'EOF'
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
    apt-get update -qq
  fi
}

install_engine() {
  if command -v dockerd >/dev/null 2>&1 && dockerd --version | grep -Eq 'version (2[5-9]|[3-9][0-9])\.'; then
    return
  fi
  say "installing Docker Engine 26 (Debian 13 packages, selected per package, no Recommends)"
  add_trixie_source
  # shellcheck disable=SC2086
  safe_install $ENGINE_PACKAGES
}

# plan [PKG...]: print what `up` would install (or what installing PKG would) and fail (exit 3)
# if that would upgrade or remove anything.
plan() {
  [ "$(id -u)" -eq 0 ] || { say "run as root"; exit 2; }
  add_trixie_source
  if [ "$#" -gt 0 ]; then
    apt_plan "$@"
  else
    # shellcheck disable=SC2086
    apt_plan $ENGINE_PACKAGES debootstrap
  fi
}

start_engine() {
  local major
  major="$(engine_major || true)"
  if [ -n "$major" ] && [ "$major" -ge "$MIN_ENGINE" ]; then
    return
  fi
  say "starting dockerd (log: $LOG)"
  nohup dockerd >"$LOG" 2>&1 9>&- &   # 9>&-: the daemon must not inherit (and hold) the up lock
  echo $! > "$PIDFILE"
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      return
    fi
    sleep 1
  done
  say "dockerd did not come up; last log lines:"
  tail -n 20 "$LOG" >&2
  exit 1
}

build_rootfs() {
  if docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || safe_install debootstrap
  local mirror
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  local dir="$WORK/rootfs"
  rm -rf "$dir"
  mkdir -p "$dir"
  say "debootstrap of a minimal Debian 12 (about a minute)"
  debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates \
    bookworm "$dir" "$mirror" >"$WORK/debootstrap.log" 2>&1 || { tail -n 20 "$WORK/debootstrap.log" >&2; exit 1; }
  tar -C "$dir" -c . | docker import - "$ROOTFS_IMAGE" >/dev/null
  rm -rf "$dir"
}

build_standin() {
  # $1: image name; $2: "torch" to add the torch CPU wheel, else plain Python.
  local name="$1" with="${2:-}"
  docker image inspect "$name" >/dev/null 2>&1 && return
  local ctx="$WORK/ctx-${with:-python}"
  mkdir -p "$ctx"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"  # lets pip inside builds reach the package index
  {
    echo "FROM $ROOTFS_IMAGE"
    echo "COPY host-ca.crt /etc/ssl/certs/dlgen-host-ca.crt"
    echo "# A pip that may install into the system Python (the real images have their own Python)."
    echo "RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED"
    echo "ENV PIP_CERT=/etc/ssl/certs/dlgen-host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 LANG=C.UTF-8"
    echo "LABEL ai.dlgen.standin=\"true\" ai.dlgen.standin.for=\"$name\""
  } > "$ctx/Dockerfile"
  if [ "$with" = torch ]; then
    if ! ls "$ctx"/torch-*.whl >/dev/null 2>&1; then
      say "fetching the torch $STANDIN_TORCH CPU wheel"
      python3 -m pip download -q --no-deps "torch==$STANDIN_TORCH" -d "$ctx" >/dev/null
    fi
    echo "COPY torch-*.whl /tmp/" >> "$ctx/Dockerfile"
    echo "RUN pip install --no-cache-dir /tmp/torch-*.whl && rm -f /tmp/torch-*.whl" >> "$ctx/Dockerfile"
    echo 'CMD ["python"]' >> "$ctx/Dockerfile"
  else
    echo 'CMD ["python3"]' >> "$ctx/Dockerfile"
  fi
  say "building stand-in $name${with:+ (torch $STANDIN_TORCH CPU)}"
  docker build -q -t "$name" "$ctx" >/dev/null
}

up() {
  [ "$(id -u)" -eq 0 ] || { say "run as root"; exit 2; }
  mkdir -p "$WORK"
  # One `up` at a time: a second one waits for the first (two debootstraps into one folder fail).
  exec 9>"$WORK/.up.lock"
  if ! flock -n 9; then
    say "another 'test-engine.sh up' is running: waiting for it"
    flock 9
  fi
  install_engine
  start_engine
  docker compose version >/dev/null 2>&1 || { say "docker compose is missing"; exit 1; }
  build_rootfs
  for img in $PYTHON_IMAGES; do build_standin "$img"; done
  local first=""
  for img in $TORCH_IMAGES; do
    if [ -z "$first" ]; then
      build_standin "$img" torch; first="$img"
    elif ! docker image inspect "$img" >/dev/null 2>&1; then
      docker tag "$first" "$img"
    fi
  done
  say "ready: Docker Engine $(docker version --format '{{.Server.Version}}'), $(docker compose version --short) compose"
}

down() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      docker ps -q --filter label=ai.dlgen.test=1 | xargs -r docker rm -f >/dev/null 2>&1 || true
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$PIDFILE"
    say "dockerd stopped"
  else
    say "no dockerd started by this script"
  fi
}

case "${1:-}" in
  up) up ;;
  plan) shift; plan "$@" ;;
  down) down ;;
  status) docker version --format 'engine {{.Server.Version}}' 2>/dev/null || { echo "no engine"; exit 1; } ;;
  *) echo "usage: $0 up|down|status|plan" >&2; exit 2 ;;
esac
