#!/usr/bin/env bash
# Build edgembed's container images with buildah (no Docker engine needed).
#
#   scripts/build-container.sh --export workspace/exports/edgembed-model   # runtime, model baked in
#   scripts/build-container.sh                                             # runtime, mount a model
#   scripts/build-container.sh --target build                             # torch + every command
#
# Options:
#   --export DIR     an export folder (from `edgembed export`) to bake in at /models/export
#   --target NAME    runtime (default) or build
#   --tag NAME       image name (default: localhost/edgembed:latest, or edgembed-build:latest)
#   --base IMAGE     base image with python3 >= 3.11, venv and pip. Default: a Debian minbase
#                    made here with debootstrap (root, ~2 min once, cached in $EDGEMBED_CACHE).
# Environment:
#   EDGEMBED_CACHE         cache folder (default: ~/.cache/edgembed)
#   EDGEMBED_SUITE         Debian suite of the default base (default: this machine's, or bookworm)
#   EDGEMBED_BUILDAH_ROOT  a private buildah storage folder (default: buildah's own)
#   STORAGE_DRIVER         buildah storage driver (default here: vfs, which works everywhere)
#   BUILDAH_ISOLATION      buildah isolation (default here: chroot, which needs no namespaces)
#   BUILDAH_LAYERS         keep each step as a cached layer (default: true; false saves disk)
#   TORCH_WHEEL            a torch 2.13.0 CPU wheel to use in the build stage; default: one
#                          found in pip's find-links folders, else the PyTorch CPU index
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
export_dir="" target="runtime" tag="" base=""
while [ $# -gt 0 ]; do
    case "$1" in
        --export) export_dir="${2:?--export needs a folder}"; shift 2 ;;
        --target) target="${2:?--target needs runtime or build}"; shift 2 ;;
        --tag) tag="${2:?--tag needs an image name}"; shift 2 ;;
        --base) base="${2:?--base needs an image}"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$target" in
    runtime) tag="${tag:-localhost/edgembed:latest}" ;;
    build) tag="${tag:-localhost/edgembed-build:latest}" ;;
    *) echo "--target must be runtime or build, not '$target'" >&2; exit 2 ;;
esac
if [ -n "$export_dir" ]; then
    if [ ! -f "$export_dir/manifest.json" ]; then
        echo "$export_dir has no manifest.json: pass a folder written by 'edgembed export'" >&2
        exit 2
    fi
    export_dir="$(cd "$export_dir" && pwd)"
fi
command -v buildah >/dev/null || {
    echo "buildah is not installed: apt-get install -y buildah (or use docker build, see Containerfile)" >&2
    exit 2
}

cache="${EDGEMBED_CACHE:-$HOME/.cache/edgembed}"
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}" BUILDAH_LAYERS="${BUILDAH_LAYERS:-true}"
buildah_cmd=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")
if [ -n "${EDGEMBED_BUILDAH_ROOT:-}" ]; then
    buildah_cmd+=(--root "$EDGEMBED_BUILDAH_ROOT/storage" --runroot "$EDGEMBED_BUILDAH_ROOT/run")
fi

# A Debian minbase with python3, venv and pip: debootstrapped once, kept as a tarball.
debian_base() {
    local suite arch tarball image rootfs container
    suite="${EDGEMBED_SUITE:-$(. /etc/os-release 2>/dev/null && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}")}"
    suite="${suite:-bookworm}"
    arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
    image="localhost/edgembed-base:$suite"
    if "${buildah_cmd[@]}" inspect --type image "$image" >/dev/null 2>&1; then
        echo "$image"; return
    fi
    tarball="$cache/base-$suite-$arch.tar.gz"
    if [ ! -f "$tarball" ]; then
        command -v debootstrap >/dev/null || {
            echo "debootstrap is not installed: apt-get install -y debootstrap, or pass --base IMAGE" >&2
            exit 2
        }
        mkdir -p "$cache"
        rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
        echo "debootstrap $suite (about 2 minutes, once)..." >&2
        debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
            "$suite" "$rootfs" http://deb.debian.org/debian >&2
        # What an image never needs: package caches and lists, docs, man pages, translations.
        rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
        tar --numeric-owner -C "$rootfs" -czf "$tarball.part" . && mv "$tarball.part" "$tarball"
        rm -rf "$rootfs"
    fi
    container="$("${buildah_cmd[@]}" from scratch)"
    "${buildah_cmd[@]}" add "$container" "$tarball" / >/dev/null
    "${buildah_cmd[@]}" config --cmd /bin/bash "$container"
    "${buildah_cmd[@]}" commit --quiet "$container" "$image" >/dev/null
    "${buildah_cmd[@]}" rm "$container" >/dev/null
    echo "$image"
}

# The build context: the project's files as git sees them (no .venv, no workspace), plus
# the export folder and any torch wheel.
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cd "$repo"
git ls-files -z --cached --others --exclude-standard -- \
    Containerfile .containerignore pyproject.toml README.md edgembed sample_docs deploy/container \
    | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$context"
mkdir -p "$context/deploy/container/wheels"
args=(--build-arg "BASE_IMAGE=${base:-$(debian_base)}")
if [ -n "$export_dir" ]; then
    cp -r "$export_dir" "$context/export"
    args+=(--build-arg EXPORT_DIR=export)
fi
if [ "$target" = build ]; then
    wheel="${TORCH_WHEEL:-}"
    if [ -z "$wheel" ]; then
        for dir in ${PIP_FIND_LINKS:-} $(pip config get global.find-links 2>/dev/null || true); do
            for found in "$dir"/torch-2.13.0+cpu-*.whl; do [ -f "$found" ] && wheel="$found"; done
        done
    fi
    if [ -n "$wheel" ]; then
        ln "$wheel" "$context/deploy/container/wheels/" 2>/dev/null \
            || cp "$wheel" "$context/deploy/container/wheels/"
        args+=(--build-arg TORCH_INDEX_URL=)
    fi
fi
# A machine whose pip trusts an extra CA (a TLS proxy) lends that bundle to the build's RUN
# steps; it is not copied into the image.
cert="${PIP_CERT:-$(pip config get global.cert 2>/dev/null || true)}"
if [ -n "$cert" ] && [ -f "$cert" ]; then
    args+=(--volume "$cert:/etc/ssl/certs/ca-certificates.crt:ro")
fi

# docker format: OCI images cannot carry a HEALTHCHECK.
"${buildah_cmd[@]}" build --format docker --target "$target" --tag "$tag" "${args[@]}" \
    --file "$context/Containerfile" "$context"
echo "built $tag: $("${buildah_cmd[@]}" images --format '{{.Size}}' "$tag")"
