"""What goes into an image's one layer: the files of Debian binaries with the libraries they
load, laid out as Debian's merged /usr; an unprivileged user; a reproducible tar of it all.
tools.node_images builds the images from these layers."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from involution.names import RUN_AS_USER

# Debian's merged /usr: the image has the same links, so `ldd`'s paths resolve inside it.
MERGED_USR = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"involution:x:{RUN_AS_USER}:{RUN_AS_USER}::/tmp:/sbin/nologin\n"
)
GROUP = f"root:x:0:\ninvolution:x:{RUN_AS_USER}:\n"


@dataclass(frozen=True)
class Entry:
    """One member of a layer: a file copied from `source`, a directory, or a symlink."""

    path: str  # inside the image, without the leading /
    source: Path | None = None
    link: str | None = None
    data: bytes | None = None
    mode: int = 0o755


def _read(path: Path | None) -> bytes:
    assert path is not None
    return path.read_bytes()


def tar_layer(entries: Sequence[Entry]) -> bytes:
    """The layer as a reproducible tar: sorted, owned by root, dated 0."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(entries, key=lambda e: e.path):
            info = tarfile.TarInfo(entry.path)
            info.mtime, info.uid, info.gid, info.mode = 0, 0, 0, entry.mode
            if entry.link is not None:
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.link, 0o777
                tar.addfile(info)
            elif entry.source is None and entry.data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                data = entry.data if entry.data is not None else _read(entry.source)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def base_entries() -> list[Entry]:
    """What every image has: the merged-/usr links, /tmp, /etc with the unprivileged user."""
    entries = [Entry(name, link=target) for name, target in MERGED_USR.items()]
    entries += [Entry(d) for d in ("usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc")]
    entries += [Entry("tmp", mode=0o1777)]
    entries += [
        Entry("etc/passwd", data=PASSWD.encode(), mode=0o644),
        Entry("etc/group", data=GROUP.encode(), mode=0o644),
    ]
    return entries


def _under_usr(path: str) -> str:
    """`/lib/x/y` as it lives in the image: under usr/ (merged /usr)."""
    top, _, rest = path.lstrip("/").partition("/")
    return f"{MERGED_USR[top]}/{rest}" if top in MERGED_USR else path.lstrip("/")


def host_file(path: str) -> list[Entry]:
    """A host file at its real path, and the link that named it when that differs."""
    real = os.path.realpath(path)
    stored, named = _under_usr(real), _under_usr(path)
    entries = [Entry(stored, source=Path(real))]
    if named != stored:
        link = os.path.relpath(f"/{stored}", os.path.dirname(f"/{named}"))
        entries.append(Entry(named, link=link))
    return entries


LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def shared_libraries(binary: str) -> list[str]:
    """The libraries `ldd` resolves for a binary, the dynamic loader included."""
    result = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    return [m.group(1) for line in result.stdout.splitlines() if (m := LDD_LINE.search(line))]


def debian_files(binaries: Sequence[str]) -> list[Entry]:
    entries: dict[str, Entry] = {}
    for binary in binaries:
        for path in (binary, *shared_libraries(binary)):
            for entry in host_file(path):
                entries[entry.path] = entry
    return list(entries.values())


def parent_dirs(entries: Sequence[Entry]) -> list[Entry]:
    """Every folder an entry lives in, so the tar extracts without implied directories."""
    have = {e.path for e in entries}
    folders: set[str] = set()
    for entry in entries:
        parts = entry.path.split("/")[:-1]
        folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return [Entry(f) for f in sorted(folders - have) if f not in MERGED_USR]
