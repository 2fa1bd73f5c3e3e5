"""File digests shared by the layers that need them (fixture manifests, idempotent S3
uploads), kept apart so neither imports the other for it."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MiB blocks (fixtures run to hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
