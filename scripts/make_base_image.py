"""Make a Python base image from Debian's packages, for machines that reach no image registry.

    python scripts/make_base_image.py [--tag mlprod-base:bookworm] [--suite bookworm]

The usual base of the serving image (``python:3.11-slim``) comes from an image
registry. Where none is reachable, this makes an equivalent one: ``debootstrap``
a minimal Debian root file system with ``python3`` and ``pip`` (and ``passwd``,
for the Dockerfile's ``useradd``), trim caches, docs and locales, and ``docker
import`` it. Build on it with ``mlprod package --build --base-image TAG``.

The Debian mirror is read from this machine's own apt configuration
(``/etc/apt/sources.list.d/*.sources`` or ``/etc/apt/sources.list``), never
written down here. Needs root, ``debootstrap`` and a docker daemon. Prints the
tag; reuses an existing image of that tag unless ``--rebuild``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TRIM = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)


def debian_mirror() -> str:
    """The first Debian archive this machine's apt uses (deb822 or one-line format)."""
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in sources:
        text = path.read_text()
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"(?mi)^URIs:\s*(\S+)", stanza)
            suites = re.search(r"(?mi)^Suites:\s*(.+)$", stanza) or None
            if uris and suites and not any(s.endswith("-security") for s in suites[1].split()):
                return uris[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[2]:
                return next(p for p in parts[1:] if "://" in p)
    raise SystemExit("error: no Debian mirror in /etc/apt/sources.list.d/ or /etc/apt/sources.list")


def image_exists(tag: str) -> bool:
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return done.returncode == 0


def make(tag: str, suite: str) -> None:
    if shutil.which("debootstrap") is None:
        raise SystemExit("error: debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="mlprod-rootfs-") as folder:
        root = Path(folder) / "rootfs"
        packages = "--include=python3,python3-pip,passwd"
        command = ["debootstrap", "--variant=minbase", packages, suite, str(root), debian_mirror()]
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for rel in TRIM:
            target = root / rel
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
        # Debian marks its Python externally managed; an image's Python is the image's own.
        for marker in root.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()
        python = root / "usr/bin/python"
        if not python.exists():
            python.symlink_to("python3")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
        ]
        subprocess.run(
            ["docker", "import", *[f"--change={change}" for change in changes], "-", tag],
            stdin=tar.stdout,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if tar.wait() != 0:
            raise SystemExit("error: tar of the root file system failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="mlprod-base:bookworm")
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    if args.rebuild or not image_exists(args.tag):
        make(args.tag, args.suite)
    print(args.tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
