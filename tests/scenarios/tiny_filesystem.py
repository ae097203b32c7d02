"""A tiny real filesystem for a scenario: an ext4 image of a given size loop-mounted on a directory, when
this process may (root, `mkfs.ext4`, a loop device).

    with tiny_filesystem(path, size_mb=96) as mounted:    # False where it cannot be mounted
        filler = fill(path, leave_mb=16)                  # the disk is (nearly) full
        filler.unlink()                                   # space is back

Not tmpfs: the embedded Qdrant shard keeps sparse, memory-mapped 32 MB chunks that tmpfs backs with memory
page by page, so a tmpfs smaller than the shard's apparent size (~190 MB when new) kills the process that
opens it with SIGBUS, full or not. Unmounted lazily on the way out.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


@contextmanager
def tiny_filesystem(path: Path, *, size_mb: int) -> Iterator[bool]:
    path.mkdir(parents=True, exist_ok=True)
    image = path.with_name(f"{path.name}.ext4")
    with image.open("wb") as out:
        out.truncate(size_mb * 2**20)
    tools = all(shutil.which(tool) for tool in ("mkfs.ext4", "mount", "umount"))
    done = (
        tools
        and _run("mkfs.ext4", "-q", "-F", "-m", "0", str(image))
        and _run("mount", "-o", "loop", str(image), str(path))
    )
    try:
        yield done
    finally:
        if done:
            _run("umount", "-l", str(path))
        image.unlink(missing_ok=True)


def fill(path: Path, *, leave_mb: float) -> Path:
    """A file taking all but `leave_mb` of the filesystem under `path`; remove it to free the space."""
    filler = path / "filler.bin"
    size = max(0, shutil.disk_usage(path).free - int(leave_mb * 2**20))
    chunk = b"\0" * 2**20
    with filler.open("wb") as out:
        while size > 0:
            size -= out.write(chunk[: min(size, len(chunk))])
    return filler


__all__ = ["fill", "tiny_filesystem"]
