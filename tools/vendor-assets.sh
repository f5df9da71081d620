#!/usr/bin/env bash
# Re-create the vendored front-end assets under static/vendor/ from the npm registry.
#
#   static/vendor/krds/            <- krds-uiux (KRDS HTML component kit): compiled CSS + the icons it references
#   static/vendor/pretendard-gov/  <- Pretendard GOV subset woff2 files (as shipped by krds-uiux) + OFL licence
#
# This is a maintainer tool only: the site never runs it and never loads anything from the internet.
# Usage: tools/vendor-assets.sh
# Environment overrides:
#   KRDS_VERSION            krds-uiux version to vendor (default 1.1.0)
#   PRETENDARD_GOV_VERSION  pretendard-gov version to take the licence from (default 1.3.9)
#   PRETENDARD_GOV_TGZ      path to an already downloaded pretendard-gov-<version>.tgz
#                           (the package is ~160 MB; only its LICENSE.txt and 3 woff2 files are read)
set -euo pipefail

KRDS_VERSION="${KRDS_VERSION:-1.1.0}"
PRETENDARD_GOV_VERSION="${PRETENDARD_GOV_VERSION:-1.3.9}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/static/vendor"
KRDS_DEST="$VENDOR/krds"
FONT_DEST="$VENDOR/pretendard-gov"
FONT_WEIGHTS="Regular:400 Medium:500 Bold:700"
# Icons that static/css/site.css uses on top of the ones output.css references.
SITE_ICONS="ico_warning_fill.svg"

die() { echo "vendor-assets: error: $*" >&2; exit 1; }
log() { echo "vendor-assets: $*"; }

command -v npm >/dev/null || die "npm is required"
command -v tar >/dev/null || die "tar is required"
command -v sha256sum >/dev/null || die "sha256sum is required"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- fetch ------------------------------------------------------------------
log "npm pack krds-uiux@$KRDS_VERSION"
mkdir -p "$TMP/krds"
(cd "$TMP" && npm pack --silent "krds-uiux@$KRDS_VERSION" >/dev/null)
KRDS_TGZ="$TMP/krds-uiux-$KRDS_VERSION.tgz"
[ -f "$KRDS_TGZ" ] || die "npm pack did not produce $KRDS_TGZ"
tar -xzf "$KRDS_TGZ" -C "$TMP/krds"
K="$TMP/krds/package"
KRDS_SHA256="$(sha256sum "$KRDS_TGZ" | cut -d' ' -f1)"

if [ -n "${PRETENDARD_GOV_TGZ:-}" ]; then
  PG_TGZ="$PRETENDARD_GOV_TGZ"
  [ -f "$PG_TGZ" ] || die "PRETENDARD_GOV_TGZ=$PG_TGZ not found"
else
  log "npm pack pretendard-gov@$PRETENDARD_GOV_VERSION (large download, ~160 MB)"
  (cd "$TMP" && npm pack --silent "pretendard-gov@$PRETENDARD_GOV_VERSION" >/dev/null)
  PG_TGZ="$TMP/pretendard-gov-$PRETENDARD_GOV_VERSION.tgz"
fi
[ -f "$PG_TGZ" ] || die "pretendard-gov tarball missing"
mkdir -p "$TMP/pg"
pg_members="package/package.json package/dist/LICENSE.txt"
for fw in $FONT_WEIGHTS; do
  pg_members="$pg_members package/dist/web/static/woff2-subset/PretendardGOV-${fw%%:*}.subset.woff2"
done
# shellcheck disable=SC2086
tar -xzf "$PG_TGZ" -C "$TMP/pg" $pg_members
P="$TMP/pg/package"
grep -q "\"version\": \"$PRETENDARD_GOV_VERSION\"" "$P/package.json" \
  || die "pretendard-gov tarball is not version $PRETENDARD_GOV_VERSION"

# --- KRDS CSS ---------------------------------------------------------------
rm -rf "$KRDS_DEST" "$FONT_DEST"
mkdir -p "$KRDS_DEST/css/token" "$KRDS_DEST/css/component" "$KRDS_DEST/img/component/icon" "$FONT_DEST"

cp "$K/resources/css/token/krds_tokens.css" "$KRDS_DEST/css/token/krds_tokens.css"

# output.css = KRDS common + all components, compiled with correct relative image paths
# (component/component.css points at a broken ../../img/img/ path and krds.min.css at https://www.krds.go.kr).
# Two mechanical edits, nothing else:
#   1. drop the @import of the token file (base.html links krds_tokens.css itself, so both load in parallel)
#   2. drop the sourceMappingURL comment (the .map file is not vendored)
SRC_CSS="$K/resources/css/component/output.css"
imports="$(grep -o '@import[^;]*;' "$SRC_CSS" || true)"
[ "$imports" = '@import "../../css/token/krds_tokens.css";' ] \
  || die "unexpected @import lines in output.css: $imports"
# (the upstream file has CRLF line endings; they are kept)
sed -e '/^@import "\.\.\/\.\.\/css\/token\/krds_tokens\.css";\r\{0,1\}$/d' \
    -e '/^\/\*# sourceMappingURL=/d' "$SRC_CSS" > "$KRDS_DEST/css/component/output.css"

# --- KRDS icons referenced by the CSS -----------------------------------------
for css in "$KRDS_DEST/css/token/krds_tokens.css" "$KRDS_DEST/css/component/output.css"; do
  if grep -Eqi '@import|//[a-z0-9.-]+\.[a-z]{2,}/|https?:' "$css"; then
    grep -Eni '@import|//[a-z0-9.-]+\.[a-z]{2,}/|https?:' "$css" | head >&2
    die "$(basename "$css") still references an external resource or @import"
  fi
done
grep -o 'url([^)]*)' "$KRDS_DEST/css/component/output.css" \
  | sed -e 's/^url(//' -e 's/)$//' -e "s/[\"']//g" | sort -u > "$TMP/urls.txt"
n_icons=0
while IFS= read -r u; do
  case "$u" in
    data:*) continue ;;
    ../../img/component/icon/*.svg) ;;
    *) die "unexpected url() in output.css: $u" ;;
  esac
  name="${u#../../img/component/icon/}"
  src="$K/resources/img/component/icon/$name"
  [ -f "$src" ] || die "output.css references $u but krds-uiux does not ship it"
  if grep -Eq 'xlink:href|href=|@import|<script' "$src"; then
    die "icon $name pulls in other resources"
  fi
  cp "$src" "$KRDS_DEST/img/component/icon/$name"
  n_icons=$((n_icons + 1))
done < "$TMP/urls.txt"
for name in $SITE_ICONS; do
  src="$K/resources/img/component/icon/$name"
  [ -f "$src" ] || die "krds-uiux does not ship $name (listed in SITE_ICONS)"
  cp "$src" "$KRDS_DEST/img/component/icon/$name"
done
log "copied $n_icons icons referenced by output.css + site icons: $SITE_ICONS"

# --- fonts --------------------------------------------------------------------
for fw in $FONT_WEIGHTS; do
  f="PretendardGOV-${fw%%:*}.subset.woff2"
  cp "$K/resources/fonts/$f" "$FONT_DEST/$f"
  a="$(sha256sum "$FONT_DEST/$f" | cut -d' ' -f1)"
  b="$(sha256sum "$P/dist/web/static/woff2-subset/$f" | cut -d' ' -f1)"
  [ "$a" = "$b" ] || die "$f in krds-uiux differs from pretendard-gov@$PRETENDARD_GOV_VERSION"
done
cp "$P/dist/LICENSE.txt" "$FONT_DEST/LICENSE.txt"

{
  cat <<CSS
/*
 * Pretendard GOV, subset to KS X 1001 Hangul + Latin (files as shipped in krds-uiux@$KRDS_VERSION,
 * byte-identical to pretendard-gov@$PRETENDARD_GOV_VERSION dist/web/static/woff2-subset).
 * Copyright (c) 2021 Kil Hyung-jin, with Reserved Font Name Pretendard.
 * Licensed under the SIL Open Font License 1.1 - see LICENSE.txt in this folder.
 * Generated by tools/vendor-assets.sh - do not edit by hand.
 */
CSS
  for fw in $FONT_WEIGHTS; do
    cat <<CSS

@font-face {
  font-family: "Pretendard GOV";
  font-style: normal;
  font-weight: ${fw##*:};
  font-display: swap;
  src: url("PretendardGOV-${fw%%:*}.subset.woff2") format("woff2");
}
CSS
  done
} > "$FONT_DEST/pretendard-gov.css"

# --- licence note for KRDS ----------------------------------------------------------
cat > "$KRDS_DEST/LICENSE.md" <<MD
# KRDS (대한민국 디지털 정부 디자인 시스템) — vendored files

Source: npm package \`krds-uiux@$KRDS_VERSION\` (KRDS HTML Component Kit),
tarball sha256 \`$KRDS_SHA256\`.
Upstream: https://www.krds.go.kr · https://github.com/KRDS-uiux/krds-uiux

Generated by \`tools/vendor-assets.sh\`; do not edit by hand.

## What is here

| file | from the package | changes |
| --- | --- | --- |
| \`css/token/krds_tokens.css\` | \`resources/css/token/krds_tokens.css\` | none |
| \`css/component/output.css\` | \`resources/css/component/output.css\` (KRDS common + components) | removed the \`@import\` of the token file (linked separately) and the \`sourceMappingURL\` comment |
| \`img/component/icon/*.svg\` | \`resources/img/component/icon/\` | none; only the $n_icons icons that \`output.css\` references via \`url()\`, plus $SITE_ICONS for \`static/css/site.css\` |

Nothing in these files loads from the internet: every \`url()\` resolves to a file in this folder.
The KRDS JavaScript (\`ui-script.js\`) is not vendored; the site uses its own \`static/js/site.js\`.
The Pretendard GOV fonts are in \`../pretendard-gov/\` under the SIL Open Font License 1.1.

## Terms

- \`package.json\` of krds-uiux declares \`"license": "ISC"\`.
- The package README says: "본 패키지는 대한민국 디지털 정부 디자인 시스템(KRDS)의 이용약관을 따름."
  and links to the KRDS copyright page: https://www.krds.go.kr/html/site/utility/utility_06.html
- That page could not be read when these files were vendored (no network access apart from the npm registry).
  Other projects that vendor krds-uiux report that it places KRDS under 공공누리(KOGL) 제1유형 —
  attribution required, commercial use and modification allowed. **Maintainers: confirm the current terms on
  that page before a release.** The site's footer names KRDS as the source of the design, which satisfies
  an attribution requirement.
- The KRDS logo (\`ico_logo_krds*.svg\`) and the national-flag icon (\`ico_flag.svg\`) are vendored only because
  \`output.css\` references them; this unofficial demo does not display them.
MD

log "done:"
(cd "$VENDOR" && find krds pretendard-gov -type f | sort | xargs du -b | awk '{t+=$1} END {printf "  %d files, %.1f KiB total\n", NR, t/1024}')
