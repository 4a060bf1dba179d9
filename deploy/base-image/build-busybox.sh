#!/usr/bin/env bash
# Builds busybox:latest as an OCI image layout in OUTDIR from the host's static busybox
# (Debian's busybox-static), reproducibly: sorted tar, one fixed mtime, numeric owner 0,
# `gzip -n`, fixed config timestamps — the same busybox binary always gives the same digests.
# Prints the manifest digest (sha256:…) on stdout; everything else goes to stderr.
#
# usage: build-busybox.sh OUTDIR [BUSYBOX_BINARY]      (default binary: /bin/busybox)
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

out=${1:?usage: build-busybox.sh OUTDIR [BUSYBOX_BINARY]}
bb=${2:-/bin/busybox}
[ -x "$bb" ] || { echo "build-busybox.sh: $bb is not an executable busybox (install busybox-static)" >&2; exit 1; }
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "build-busybox.sh: $out exists and is not empty" >&2; exit 1
fi
file_type=$(od -An -c -N 4 "$bb" | tr -d ' \n')
if [ "$file_type" != '177ELF' ]; then
  echo "build-busybox.sh: $bb is not an ELF binary" >&2; exit 1
fi

epoch='2024-01-01 00:00:00Z'
created='2024-01-01T00:00:00Z'
case "$(uname -m)" in
  x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7l) arch=arm ;; *) arch=$(uname -m) ;;
esac
# sed reads all of busybox's banner (head would close the pipe early: SIGPIPE under pipefail)
version=$("$bb" 2>&1 | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p' || true)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var,var/tmp,home,run}
chmod 0755 "$root" "$root"/{bin,sbin,usr,usr/bin,usr/sbin,etc,proc,sys,dev,var,home,run}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
install -m 0755 "$bb" "$root/bin/busybox"
for a in $("$bb" --list); do
  case "$a" in busybox|*/*) continue ;; esac
  ln -s busybox "$root/bin/$a"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/home:/bin/false' > "$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' > "$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"

tar --sort=name --format=gnu --mtime="$epoch" --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 -c "$work/layer.tar" > "$work/layer.tar.gz"

mkdir -p "$out/blobs/sha256"
put() { # put FILE -> prints "hex size", moves FILE into the blob dir
  local h s
  h=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
  mv "$1" "$out/blobs/sha256/$h"
  echo "$h $s"
}
read -r layer_hex layer_size < <(put "$work/layer.tar.gz")

path='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
printf '{"architecture":"%s","config":{"Env":["%s"],"Cmd":["sh"]},"created":"%s","history":[{"created":"%s","created_by":"deploy/base-image/build-busybox.sh (BusyBox %s)"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$arch" "$path" "$created" "$created" "$version" "$diff_id" > "$work/config.json"
read -r config_hex config_size < <(put "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config_hex" "$config_size" "$layer_hex" "$layer_size" > "$work/manifest.json"
read -r manifest_hex manifest_size < <(put "$work/manifest.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
  "$manifest_hex" "$manifest_size" > "$out/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"

echo "busybox $version: diff_id sha256:$diff_id, layer sha256:$layer_hex ($layer_size bytes), config sha256:$config_hex" >&2
echo "sha256:$manifest_hex"
