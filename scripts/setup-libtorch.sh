#!/usr/bin/env bash
# Obtain the CPU libtorch 2.13.0 that `tch` 0.26 expects, from PyPI wheels, into a cache outside
# the clone, and link it into the clone as `.libtorch` (which `.cargo/config.toml` points at).
#
# - A user who already has libtorch is respected: with LIBTORCH or LIBTORCH_USE_PYTORCH set,
#   this script does nothing (cargo's [env] never overrides a variable already set).
# - The cache is $CLV_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/clv); a second clone or
#   run finds it there and downloads nothing.
# - Only the CPU libraries are kept (about 480 MB): torch-sys then links CPU only. For CUDA,
#   see README.md ("GPU").
set -euo pipefail

TORCH_VERSION=2.13.0
# The CUDA runtime and CUPTI versions pinned by torch 2.13.0's `cuda-toolkit==13.0.3` dependency.
# libtorch_cpu.so links against libcudart.so.13 and libcupti.so.13 even on CPU.
CUDART_VERSION=13.0.96
CUPTI_VERSION=13.0.85

root=$(cd "$(dirname "$0")/.." && pwd)
link="$root/.libtorch"

if [ -n "${LIBTORCH:-}" ] || [ -n "${LIBTORCH_USE_PYTORCH:-}" ]; then
  echo "setup-libtorch: LIBTORCH or LIBTORCH_USE_PYTORCH is set; using the user's libtorch." >&2
  exit 0
fi

cache_root="${CLV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clv}"
dest="$cache_root/libtorch-$TORCH_VERSION-cpu"

if [ ! -f "$dest/build-version" ]; then
  echo "setup-libtorch: fetching libtorch $TORCH_VERSION (CPU) from PyPI into $dest" >&2
  mkdir -p "$cache_root"
  work=$(mktemp -d "$cache_root/.tmp.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  py=$(command -v python3 || command -v python)
  "$py" -m pip download --quiet --no-deps --only-binary=:all: \
    -d "$work/wheels" \
    "torch==$TORCH_VERSION" \
    "nvidia-cuda-runtime==$CUDART_VERSION" \
    "nvidia-cuda-cupti==$CUPTI_VERSION"
  stage="$work/libtorch"
  mkdir -p "$stage/lib"
  (cd "$work" && "$py" - "$work/wheels" "$stage" <<'PY'
import pathlib, shutil, sys, zipfile
wheels, stage = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
keep_lib = {"libtorch_cpu.so", "libtorch.so", "libc10.so", "libgomp.so.1"}
for whl in wheels.glob("*.whl"):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if name.endswith("/"):
                continue
            p = pathlib.PurePosixPath(name)
            if whl.name.startswith("torch-"):
                if p.parts[:2] == ("torch", "include"):
                    out = stage / "include" / pathlib.Path(*p.parts[2:])
                elif p.parts[:2] == ("torch", "lib") and p.name in keep_lib:
                    out = stage / "lib" / p.name
                else:
                    continue
            elif p.name.startswith(("libcudart.so.13", "libcupti.so.13")):
                out = stage / "lib" / p.name
            else:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
PY
  )
  for so in libcudart.so.13 libcupti.so.13 libtorch_cpu.so libc10.so libtorch.so; do
    [ -f "$stage/lib/$so" ] || { echo "setup-libtorch: $so missing from the wheels" >&2; exit 1; }
  done
  echo "$TORCH_VERSION" > "$stage/build-version"
  rm -rf "$dest"
  mv "$stage" "$dest"   # atomic: a half-extracted cache is never taken for a complete one
  echo "setup-libtorch: cached $(du -sh "$dest" | cut -f1) at $dest" >&2
fi

if [ "$(readlink "$link" 2>/dev/null)" != "$dest" ]; then
  ln -sfn "$dest" "$link"
fi
