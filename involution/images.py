"""Container image references: one parser for every image and repository the program names.

The grammar is the distribution reference's, narrowed to what the program accepts:
`[registry[:port]/]path[:tag][@sha256:<64 hex>]`, path components lowercase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REGISTRY = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?)"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?:(?P<registry>{_REGISTRY})/)?"
    rf"(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
FLOATING_TAGS = frozenset({"latest"})
# Label values allow no `:`; a digest shows as its first 12 hex digits.
DIGEST_LABEL_LENGTH = 12


class ImageRefError(ValueError):
    """Not an image reference the program accepts."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference; `str()` gives it back as written."""

    repository: str  # registry (if any) and path, without tag or digest
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        match = _REFERENCE.match(text.strip())
        if match is None:
            raise ImageRefError(text)
        registry, path = match.group("registry"), match.group("path")
        # Without `.` or `:` (or `localhost`) the first component is a path component, as
        # Docker reads it, and path components are lowercase.
        is_path = registry is not None and not any(c in registry for c in ".:")
        if is_path and registry not in ("localhost", registry.lower()):
            raise ImageRefError(text)
        repository = f"{registry}/{path}" if registry else path
        return cls(repository=repository, tag=match.group("tag"), digest=match.group("digest"))

    @classmethod
    def parse_repository(cls, text: str) -> ImageRef:
        """A repository alone: the version supplies the tag, so neither tag nor digest."""
        ref = cls.parse(text)
        if ref.tag is not None or ref.digest is not None:
            raise ImageRefError(text)
        return ref

    @property
    def pinned(self) -> bool:
        """Pinned by digest, or by a tag that does not float."""
        return self.digest is not None or (self.tag is not None and self.tag not in FLOATING_TAGS)

    @property
    def label_version(self) -> str:
        """The `app.kubernetes.io/version` of a workload running this image."""
        if self.digest is not None:
            return self.digest.removeprefix("sha256:")[:DIGEST_LABEL_LENGTH]
        return self.tag or ""

    def with_tag(self, tag: str) -> ImageRef:
        return ImageRef(self.repository, tag=tag)

    def in_registry(self, registry: str | None) -> ImageRef:
        """The repository as pulled from `registry`, unless it already names it."""
        if not registry or self.repository.startswith(f"{registry}/"):
            return self
        return ImageRef(f"{registry}/{self.repository}", tag=self.tag, digest=self.digest)

    def __str__(self) -> str:
        text = self.repository
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text
