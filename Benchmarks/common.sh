# Shared setup for the benchmark scripts; sourced, not run. Expects REPO to be set.

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    say "installing with apt-get: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# PYTHON: an interpreter whose PyYAML has the libyaml bindings (yaml.CSafeLoader).
has_cyaml() { "$1" -c 'import yaml, sys; sys.exit(0 if yaml.__with_libyaml__ and hasattr(yaml, "CSafeLoader") else 1)' 2>/dev/null; }
ensure_pyyaml() {
    PYTHON="${PYTHON:-python3}"
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        apt_install python3 python3-yaml
        PYTHON=python3
    fi
    if ! has_cyaml "$PYTHON"; then
        say "PyYAML with libyaml is missing for $PYTHON; installing it"
        "$PYTHON" -m pip install --quiet PyYAML 2>/dev/null || true
        if ! has_cyaml "$PYTHON"; then
            apt_install python3-yaml
            if has_cyaml /usr/bin/python3; then PYTHON=/usr/bin/python3; fi
        fi
        has_cyaml "$PYTHON" || die "could not get PyYAML with yaml.CSafeLoader (libyaml) for $PYTHON"
    fi
    say "python: $("$PYTHON" -c 'import sys, yaml; print(sys.executable, sys.version.split()[0], "PyYAML", yaml.__version__, "libyaml", yaml.__with_libyaml__)')"
}

ensure_sqlite3() {
    SQLITE3="${SQLITE3:-sqlite3}"
    if ! command -v "$SQLITE3" >/dev/null 2>&1; then
        apt_install sqlite3
        SQLITE3=sqlite3
    fi
    say "sqlite3 CLI: $(command -v "$SQLITE3") $("$SQLITE3" --version | cut -d' ' -f1-2)"
}

# ALMANAC: the release binary in REPO/.build-release (never REPO/.build). Built when missing,
# or always with REBUILD=1.
ensure_almanac() {
    local scratch="$REPO/.build-release"
    ALMANAC="$scratch/release/almanac"
    if [ ! -x "$ALMANAC" ] || [ "${REBUILD:-0}" = 1 ]; then
        command -v swift >/dev/null 2>&1 || die "swift is not installed; it is needed to build the release binary"
        say "building the release binary into $scratch (the first build takes ~15 min on 2 cores)"
        (cd "$REPO" && swift build -c release --product almanac --scratch-path "$scratch")
    fi
    [ -x "$ALMANAC" ] || die "no release binary at $ALMANAC"
    say "almanac: $ALMANAC (built $(date -r "$ALMANAC" '+%Y-%m-%d %H:%M'); REBUILD=1 rebuilds it)"
    local newer
    newer=$(find "$REPO/Sources" -name '*.swift' -newer "$ALMANAC" 2>/dev/null | head -3 || true)
    if [ -n "$newer" ]; then
        say "note: some Sources/ files are newer than the binary (e.g. ${newer//$'\n'/, }); REBUILD=1 to measure them"
    fi
}

machine_summary() {
    say "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
    if command -v swift >/dev/null 2>&1; then say "swift: $(swift --version 2>&1 | head -1)"; fi
    say "load average before the run (other work on the machine skews timings): $(cut -d' ' -f1-3 /proc/loadavg)"
    say "repo: $REPO @ $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet -- Sources 2>/dev/null || echo ' (Sources/ has uncommitted changes)')"
}
