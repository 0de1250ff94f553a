#!/usr/bin/env bash
# `dvc plots show` offline: DVC's page loads vega, vega-lite and vega-embed from a CDN, so it is blank on a machine without
# one. This fetches those three files (the versions DVC's page names) once from the npm registry, writes a page template
# with them inline, tools/vendor/dvc_plots.html (git-ignored), and points this checkout's DVC at it through
# .dvc/config.local (`plots.html_template`; machine-local, git-ignored). Without npm or the registry it changes nothing
# (DVC's own page, CDN). Called by tools/setup.sh; idempotent.
set -uo pipefail
cd "$(dirname "$0")/.."
V=tools/vendor; T=$V/dvc_plots.html
if [ ! -s "$T" ]; then
  command -v npm >/dev/null || { echo "vendor_vega: no npm here; dvc plots show loads vega from its CDN" >&2; exit 0; }
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack -q vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2 >/dev/null 2>&1) ||
    { echo "vendor_vega: the npm registry is not reachable; dvc plots show loads vega from its CDN" >&2; exit 0; }
  mkdir -p "$V"
  for p in vega-5.20.2:vega vega-lite-5.2.0:vega-lite vega-embed-6.18.2:vega-embed; do
    tar -xzf "$tmp/${p%%:*}.tgz" -C "$tmp" "package/build/${p##*:}.min.js" && mv "$tmp/package/build/${p##*:}.min.js" "$V/"
  done
  {
    printf '<!DOCTYPE html>\n<html>\n<head>\n{refresh_tag}\n<meta charset="utf-8">\n<title>ltmoo: DVC plots</title>\n'
    for f in vega vega-lite vega-embed; do printf '<script>\n'; cat "$V/$f.min.js"; printf '\n</script>\n'; done
    printf '<style>table { border-spacing: 15px; } body { font-family: sans-serif; }</style>\n</head>\n<body>\n'
    printf '<p>Plots of <code>dvc.yaml</code> (vega inline: works offline). The profile that made the runs is in each '
    printf 'figure and in <code>results/summary.csv</code>.</p>\n{plot_divs}\n</body>\n</html>\n'
  } > "$T.tmp" && mv "$T.tmp" "$T"
fi
# DVC reads plots.html_template relative to .dvc/
if grep -q 'html_template' .dvc/config.local 2>/dev/null; then exit 0; fi
printf '[plots]\n    html_template = ../%s\n' "$T" >> .dvc/config.local
exit 0
