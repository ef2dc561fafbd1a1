#!/usr/bin/env bash
# Renders the app icons (committed under public/icons/) with Debian's Chromium and the Noto CJK font.
# Run again only when the design changes: bash scripts/make-icons.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
render() { # size, inset (share of the canvas the glyph may use), output
  cat >"$tmp/icon.html" <<HTML
<html><body style="margin:0">
<div style="width:$1px;height:$1px;background:#b3261e;display:flex;align-items:center;justify-content:center;
  border-radius:${4:-0}px;font:700 $(( $1 * $2 / 100 ))px 'Noto Sans CJK SC',sans-serif;color:#fff">下</div>
</body></html>
HTML
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --default-background-color=00000000 --window-size="$1,$1" --screenshot="$3" "file://$tmp/icon.html" 2>/dev/null
}
mkdir -p public/icons
render 192 62 public/icons/icon-192.png 36
render 512 62 public/icons/icon-512.png 96
# Maskable: full bleed, glyph inside the 80% safe circle.
render 512 46 public/icons/icon-maskable-512.png 0
