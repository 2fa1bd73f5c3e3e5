# Sourced by scripts/ensure-*: installs Debian packages the same way in each of them.
# apt_install WHO PACKAGE... runs apt-get update + install quietly, waiting up to 10 min
# for another installer (a parallel ensure-* script, unattended upgrades) to release dpkg's
# lock instead of failing at once; on failure it shows apt-get's output and a remedy.

apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }

apt_install() {
  local who=$1 log
  shift
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if ! { apt_get update -qq && apt_get install -y -qq --no-install-recommends "$@"; } \
      >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$who: apt-get could not install $* (its output above)." >&2
    echo "  remedy: run 'apt-get update && apt-get install $*' and read its error." >&2
    return 1
  fi
  rm -f "$log"
}
