# shellcheck shell=bash
# Shared objects carried to a machine that may lack them: a GPU machine that reaches no package
# archive. Source this file for gpu_deps_packages (below) and these:
#
#   copy_needed_libs TO_DIR SKIP_ROOT FILE...
#     copies into TO_DIR every shared object FILE... load as this machine's loader resolves them
#     (ldd), except glibc's and the loader's (the other machine has its own), the CUDA driver's,
#     and those under SKIP_ROOT (e.g. CUDA's own libraries; empty: none); prints the names of
#     those under SKIP_ROOT.
#   link_missing_libs FROM_DIR TO_DIR
#     empties TO_DIR and links into it each shared object of FROM_DIR whose name this machine's
#     loader cannot resolve, so that TO_DIR can go on a run path without shadowing the machine's
#     own copies; prints the names linked.

# The Debian packages the whole kspike builds against beyond a compiler, CMake and CUDA, which
# scripts/gpu-deps downloads (scripts/rehearse-bare-gpu hides them).
# shellcheck disable=SC2034  # read by the scripts that source this file
gpu_deps_packages=(libhdf5-dev libhdf5-103-1 libsz2 libaec0 libaec-dev zlib1g zlib1g-dev
                   libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0
                   libtomlplusplus-dev libstb-dev libstb0 catch2)

glibc_objects='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil)\.so'

copy_needed_libs() {
  local to="$1" skip="$2" name path
  shift 2
  mkdir -p "$to"
  while read -r name path; do
    [[ "$name" =~ $glibc_objects || "$name" == libcuda.so* ]] && continue
    if [[ -n "$skip" && "$(readlink -f "$path")" == "$skip"/* ]]; then
      printf '%s ' "$name"
      continue
    fi
    [[ -f "$to/$name" ]] || cp -L "$path" "$to/$name"
  done < <(for f in "$@"; do ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u)
  echo
}

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
