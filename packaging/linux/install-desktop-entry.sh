#!/bin/sh
# Adds Studio to this user's applications menu, with its icon, and makes .studio model files open in it.
# Run it once from the unpacked folder: ./install-desktop-entry.sh   (nothing needs root; undo with --remove)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$data/applications/studio.desktop" "$data/icons/hicolor/256x256/apps/studio.png" \
        "$data/icons/hicolor/48x48/apps/studio.png"
  command -v xdg-mime >/dev/null 2>&1 && xdg-mime uninstall "$here/studio-model.xml" 2>/dev/null || true
  echo "Studio was removed from the applications menu."
  exit 0
fi
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps" "$data/icons/hicolor/48x48/apps"
cp "$here/_internal/resources/icons/studio-256.png" "$data/icons/hicolor/256x256/apps/studio.png"
cp "$here/_internal/resources/icons/studio-48.png" "$data/icons/hicolor/48x48/apps/studio.png"
sed "s|^Exec=.*|Exec=\"$here/studio\" %f|" "$here/studio.desktop" > "$data/applications/studio.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" 2>/dev/null || true
if command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime install --novendor "$here/studio-model.xml" 2>/dev/null || true
  xdg-mime default studio.desktop application/x-studio-model 2>/dev/null || true
  echo "Studio is in the applications menu; .studio model files open in it."
else
  echo "Studio is in the applications menu. (xdg-mime, from xdg-utils, is missing: .studio files were not linked to it.)"
fi
