# Shared objects carried to a machine that may lack them (a GPU machine that reaches no package
# archive), used only where its loader lacks them. Source this file, then
#   link_missing_libs FROM_DIR TO_DIR
# empties TO_DIR and links into it each shared object of FROM_DIR whose name the machine's loader
# cannot resolve, so that TO_DIR can go on a run path without shadowing the machine's own copies.
# Prints the names linked.
link_missing_libs() {
  local from="$1" to="$2" f n have cache
  rm -rf "$to" && mkdir -p "$to"
  cache="$(ldconfig -p 2>/dev/null || true)"
  for f in "$from"/*.so*; do
    [[ -e "$f" ]] || continue
    n="$(basename "$f")"
    # the loader's cache names a file; it counts only if that file is there (x86-64 entries)
    have="$(awk -v n="$n" '$1 == n && /x86-64/ {print $NF}' <<<"$cache" | head -n 1)"
    [[ -n "$have" && -e "$have" ]] || { ln -s "$(cd "$(dirname "$f")" && pwd)/$n" "$to/$n"; printf '%s ' "$n"; }
  done
  echo
}
