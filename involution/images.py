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
# What "pinned" means, for the program's config checks and the policy pack's `image-pinned`
# rule alike: a semver tag (1.27.3, v1.2.3, 7.4.1-alpine) that does not float, or a sha256
# digest. The pack keeps its own copy (it judges the program's output independently);
# tests/test_contract.py fails when the two disagree.
SEMVER_TAG = re.compile(
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-.][0-9A-Za-z][0-9A-Za-z.-]*)?$"
)
PINNED_FORM = (
    "an image pinned by a semver tag (e.g. 1.27.3, 7.4.1-alpine, v1.2.3) or a sha256 digest; "
    "never `latest`, an untagged image or a tag such as `stable` or `7.4-alpine`"
)
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
    def pin_problem(self) -> str | None:
        """Why the reference is not pinned (the policy pack's words), or None when it is."""
        if self.digest is not None:
            return None
        if self.tag is None:
            return "untagged (pulls `latest`): pin a version tag"
        if self.tag.lower() in FLOATING_TAGS:
            return f"uses the floating tag {self.tag!r}"
        if not SEMVER_TAG.match(self.tag):
            return f"tag {self.tag!r} is not a semver tag"
        return None

    @property
    def pinned(self) -> bool:
        """Pinned by digest, or by a semver tag that does not float."""
        return self.pin_problem is None

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
