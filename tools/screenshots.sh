#!/usr/bin/env bash
# Screenshots of a report's page as a laptop (1280 px) and a phone (390 px)
# show it: DIR/report-1280.png and DIR/report-390.png, the top of the page
# that each viewport's first screens hold. tools/reference.sh runs it on the
# reference run; report's TestPageLayoutInChromium checks the same layout.
#
# usage: tools/screenshots.sh [DIR]    default results/reference-2core-epyc
#
# Headless Chromium makes no window narrower than 500 px, so the page is
# shown in an iframe of the viewport's size, in a window just as wide.
set -euo pipefail
# shellcheck source=tools/lib.sh
source "$(dirname "$0")/lib.sh"
dir=$(realpath "${1:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/results/reference-2core-epyc}")
[ -s "$dir/report.html" ] || die "no $dir/report.html: render it first (bench report $dir)"
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome) ||
  die "no chromium on PATH: apt-get install chromium"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# WIDTH HEIGHT: the viewport, and how much of the page to show.
for size in "1280 2000" "390 2400"; do
  read -r w h <<<"$size"
  cat >"$tmp/frame.html" <<HTML
<!DOCTYPE html>
<html><body style="margin:0">
<iframe src="file://$dir/report.html" width="$w" height="$h" style="border:0;display:block"></iframe>
</body></html>
HTML
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --allow-file-access-from-files --user-data-dir="$tmp/profile" \
    --window-size="$w,$h" --screenshot="$dir/report-$w.png" "file://$tmp/frame.html" 2>"$tmp/stderr" >/dev/null ||
    die "chromium failed: $(tail -5 "$tmp/stderr")"
  [ -s "$dir/report-$w.png" ] || die "chromium wrote no $dir/report-$w.png"
  echo "$dir/report-$w.png" >&2
done
