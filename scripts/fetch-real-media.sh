#!/usr/bin/env bash
# Real photos and footage that nobody here made, for the tests and benchmarks that check what
# livecap does with the real world: the sample data of two Debian packages, downloaded (not
# installed) and unpacked into data/cache/real-media (or $LIVECAP_REAL_MEDIA). Never committed.
#   opencv-doc       examples/data: ~60 photos, vtest.avi (a fixed camera over people walking),
#                    tree.avi (a webcam on a tree), Megamind.avi (an animated film clip)
#   python3-skimage  skimage/data: astronaut, cat, coffee, rocket, motorcycle and more
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${LIVECAP_REAL_MEDIA:-data/cache/real-media}"
mkdir -p "$dest"
for pkg in opencv-doc python3-skimage; do
  [ -d "$dest/$pkg" ] && continue
  tmp="$(mktemp -d)"
  # A fresh machine may have no package lists yet: fetch them once (as root) and try again.
  if ! (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi
    (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null)
  fi
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$dest/$pkg.partial"
  mv "$dest/$pkg.partial" "$dest/$pkg"
  rm -rf "$tmp"
done
echo "real media in $dest"
