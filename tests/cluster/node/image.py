"""Write a single-layer OCI image archive that ``ctr images import`` takes, without a registry.

    python3 image.py OUT.tar NAME --file SRC:DEST[:MODE] ... [--env K=V] [--cmd ARG ...]

The layer holds the files given, the directories a Linux root needs and the merged-/usr
symlinks (bin, lib, lib64, sbin); nothing else. The real node's NRI plugin mounts the host's
/usr, Python and the project's checkout into every container, so the image stays tiny.
Standard library only: up.sh runs it with the system Python.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import tarfile
import time

# /root is traversable: the host's Python may live under it (pyenv) and is mounted there, and
# notebook pods run as uid 1000.
DIRS = {
    "dev": 0o755,
    "etc": 0o755,
    "home": 0o755,
    "proc": 0o555,
    "root": 0o755,
    "run": 0o755,
    "sys": 0o555,
    "tmp": 0o1777,
    "usr": 0o755,
    "var": 0o755,
    "var/tmp": 0o1777,
}
LINKS = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"}
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\njovyan:x:1000:100::/home/jovyan:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
GROUP = "root:x:0:\nusers:x:100:\nnogroup:x:65534:\n"


def _layer(files: list[tuple[str, str, int]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, data: bytes | None = None, mode: int = 0o644, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = mode
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif data is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        for name, mode in sorted(DIRS.items()):
            add(name, mode=mode)
        add("home/jovyan", mode=0o777)
        for name, target in LINKS.items():
            add(name, link=target)
        add("etc/passwd", PASSWD.encode())
        add("etc/group", GROUP.encode())
        for src, dest, mode in files:
            with open(src, "rb") as f:
                add(dest.lstrip("/"), f.read(), mode)
    return raw.getvalue()


def build(
    out: str, name: str, files: list[tuple[str, str, int]], env: list[str], cmd: list[str]
) -> None:
    diff = _layer(files)
    layer = gzip.compress(diff, mtime=0)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0)),
        "config": {"Env": env, "Cmd": cmd or None, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(diff).hexdigest()]},
    }
    blobs: dict[str, bytes] = {}

    def blob(data: bytes, media: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media, "digest": "sha256:" + digest, "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip")],
    }
    desc = blob(json.dumps(manifest).encode(), manifest["mediaType"])
    desc["annotations"] = {
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
    }
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [desc],
    }
    with tarfile.open(out, "w") as tar:

        def put(path: str, data: bytes) -> None:
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))

        put("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        put("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            put(f"blobs/sha256/{digest}", data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("name")
    ap.add_argument("--file", action="append", default=[], help="SRC:DEST[:octal mode]")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--cmd", nargs="*", default=[])
    a = ap.parse_args()
    files = []
    for spec in a.file:
        src, dest, *mode = spec.split(":")
        files.append((src, dest, int(mode[0], 8) if mode else 0o644))
    build(a.out, a.name, files, a.env, a.cmd)


if __name__ == "__main__":
    main()
