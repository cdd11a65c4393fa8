#!/usr/bin/env bash
# Downloads every shared asset (detector weights, clips, images, forecast series) from
# where it was published and keeps it only if its sha256 matches. The list — path under
# the assets folder, URL, sha256, licence — is scripts/assets-sources.tsv, taken from the
# assets' README.md; its sha256s are those of the assets' SHA256SUMS.
#
#   bash scripts/fetch-assets.sh            # then `bash scripts/setup.sh` checks them
#
# Environment:
#   TRAFFIC_ASSETS  the assets folder (default: <repo>/../shared/assets); created if missing.
#   ASSETS_MIRROR   e.g. http://host:port/base — fetch every file from
#                   $ASSETS_MIRROR/<path under the assets folder> instead of its upstream
#                   URL (a city's own mirror, a machine without internet; the test serves
#                   one). The sha256s are checked the same way.
#
# Per file: present with the right sha256 → "ok", nothing downloaded. Otherwise it is
# downloaded (curl) to a hidden temporary file in the same folder, checked, and only then
# moved into place, so a file in the folder is either the right one or what was there
# before. A mismatch (naming the file, the expected and the got sha256) or a download error
# (naming the file and the URL) deletes the temporary file; the script goes on with the
# other files and at the end lists every file that failed. Running it again fetches only
# what is still missing or wrong; a complete folder costs no download at all.
# SHA256SUMS is written into the folder (from the sources file) only when absent.
#
# groundtruth/ (this project's own hand counts, not published anywhere) cannot be
# downloaded: when it is missing, one line says so and to copy it from an existing
# install. That does not change the exit status, which reports the downloadable files.
#
# Exit status: 0 every listed file is present and verified; 1 some file failed (listed on
# stderr); 2 cannot run (curl missing, the sources file malformed, the folder not creatable).
# Do not run two at once on one folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sources="$root/scripts/assets-sources.tsv"
assets="${TRAFFIC_ASSETS:-$root/../shared/assets}"
mirror="${ASSETS_MIRROR:-}"
mirror="${mirror%/}"
header=$'path\turl\tsha256\tlicence'

say() { printf 'fetch-assets: %s\n' "$*"; }
err() { printf 'fetch-assets: error: %s\n' "$*" >&2; }
fail() { err "$*"; exit 2; }
sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }

command -v curl >/dev/null || fail "curl is needed (Debian: apt-get install curl)"
command -v sha256sum >/dev/null || fail "sha256sum is needed (Debian: coreutils)"
[ -f "$sources" ] || fail "sources file $sources not found"
mkdir -p -- "$assets" || fail "cannot create the assets folder $assets"
assets=$(cd "$assets" && pwd)

# The temporary file being written, removed however the script ends.
tmp=""
trap '[ -z "$tmp" ] || rm -f -- "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$mirror" ]; then say "fetching from the mirror $mirror into $assets"; else say "fetching into $assets"; fi

seen_header=0
total=0 ok=0 fetched=0
failed=()
sums=""
lineno=0
while IFS=$'\t' read -r -u 3 rel url want licence || [ -n "$rel" ]; do
  lineno=$((lineno + 1))
  case "$rel" in '' | '#'*) continue ;; esac
  licence="${licence%$'\r'}"
  if [ "$seen_header" -eq 0 ]; then
    [ "$rel"$'\t'"$url"$'\t'"$want"$'\t'"$licence" = "$header" ] ||
      fail "$sources:$lineno: expected the header line 'path<TAB>url<TAB>sha256<TAB>licence'"
    seen_header=1
    continue
  fi
  # Plain relative paths only: they are joined to the folder and to the mirror's URL as they are.
  if ! [[ "$rel" =~ ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$ ]] || [[ "/$rel/" == */../* || "/$rel/" == */./* ]] ||
    ! [[ "$want" =~ ^[0-9a-f]{64}$ ]] || [ -z "$url" ] || [ -z "$licence" ]; then
    fail "$sources:$lineno: malformed row (want: path, url, sha256 in lower-case hex, licence; tab-separated)"
  fi
  total=$((total + 1))
  sums+="$want  $rel"$'\n'
  [ -z "$mirror" ] || url="$mirror/$rel"
  dest="$assets/$rel"

  if [ -f "$dest" ]; then
    have=$(sha256_of "$dest")
    if [ "$have" = "$want" ]; then
      say "ok $rel"
      ok=$((ok + 1))
      continue
    fi
    say "$rel is present but its sha256 is $have, not $want: fetching it again"
  fi

  dir=$(dirname -- "$dest")
  if ! mkdir -p -- "$dir"; then
    err "$rel: cannot create $dir"
    failed+=("$rel (cannot create $dir)")
    continue
  fi
  say "fetching $rel from $url (licence: $licence)"
  tmp="$dir/.$(basename -- "$rel").part.$$"
  if ! curl_err=$(curl --fail --silent --show-error --location --proto '=http,https' --connect-timeout 30 \
    --retry 3 --output "$tmp" -- "$url" 2>&1 </dev/null); then
    rm -f -- "$tmp"
    tmp=""
    err "$rel: download from $url failed: ${curl_err:-curl failed}"
    failed+=("$rel (download failed: $url)")
    continue
  fi
  got=$(sha256_of "$tmp")
  if [ "$got" != "$want" ]; then
    rm -f -- "$tmp"
    tmp=""
    err "$rel: sha256 mismatch: expected $want, got $got (from $url); not installed"
    failed+=("$rel (sha256 mismatch: expected $want, got $got)")
    continue
  fi
  if ! mv -f -- "$tmp" "$dest"; then
    rm -f -- "$tmp"
    tmp=""
    err "$rel: cannot move the verified download into $dest"
    failed+=("$rel (cannot write $dest)")
    continue
  fi
  tmp=""
  say "fetched $rel"
  fetched=$((fetched + 1))
done 3<"$sources"
[ "$total" -gt 0 ] || fail "$sources lists no files"

# SHA256SUMS, which setup.sh checks the clips against: written only when absent.
if [ ! -e "$assets/SHA256SUMS" ]; then
  tmp="$assets/.SHA256SUMS.part.$$"
  if printf '%s' "$sums" >"$tmp" && mv -f -- "$tmp" "$assets/SHA256SUMS"; then
    tmp=""
    say "wrote $assets/SHA256SUMS"
  else
    rm -f -- "$tmp"
    tmp=""
    err "cannot write $assets/SHA256SUMS"
    failed+=("SHA256SUMS (cannot write)")
  fi
elif [ "$(sort "$assets/SHA256SUMS")" != "$(printf '%s' "$sums" | sort)" ]; then
  say "note: $assets/SHA256SUMS differs from $sources; left as it is"
fi

if [ ! -d "$assets/groundtruth" ]; then
  say "note: $assets/groundtruth/ is missing and cannot be downloaded: it is this project's own hand count, not published anywhere; copy the groundtruth/ folder from an existing install's assets folder into $assets/"
fi

if ((${#failed[@]})); then
  err "${#failed[@]} of $total files failed (run again to retry; ASSETS_MIRROR picks another source):"
  for f in "${failed[@]}"; do printf 'fetch-assets: error:   %s\n' "$f" >&2; done
  exit 1
fi
say "all $total files present and verified in $assets ($fetched fetched, $ok already there)"
