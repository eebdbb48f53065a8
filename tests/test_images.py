"""ImageRef: the one parser of image references and repositories."""

from __future__ import annotations

import pytest

from involution.images import ImageRef, ImageRefError

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "repository", "tag", "digest", "pinned", "label"),
    [
        ("redis:7.4.1-alpine", "redis", "7.4.1-alpine", None, True, "7.4.1-alpine"),
        (
            "nginxinc/nginx-unprivileged:1.27.3-alpine",
            "nginxinc/nginx-unprivileged",
            "1.27.3-alpine",
            None,
            True,
            "1.27.3-alpine",
        ),
        (
            "registry.example.com:5000/team/engine:v1.3.0",
            "registry.example.com:5000/team/engine",
            "v1.3.0",
            None,
            True,
            "v1.3.0",
        ),
        ("localhost:5000/engine", "localhost:5000/engine", None, None, False, ""),
        (f"engine@{DIGEST}", "engine", None, DIGEST, True, "0123456789ab"),
        (f"engine:v1@{DIGEST}", "engine", "v1", DIGEST, True, "0123456789ab"),
        ("engine:latest", "engine", "latest", None, False, "latest"),
        # `v1` is no semver tag: the policy pack refuses it, so the program does too.
        ("My.Registry.io/engine:v1", "My.Registry.io/engine", "v1", None, False, "v1"),
    ],
)
def test_parse(
    text: str, repository: str, tag: str | None, digest: str | None, pinned: bool, label: str
) -> None:
    ref = ImageRef.parse(text)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)
    assert ref.pinned is pinned
    assert ref.label_version == label
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["", "Team/engine", "ENGINE", "engine:", "a//b", "engine@sha256:123", "x:y:z", "-a"]
)
def test_refuses(text: str) -> None:
    with pytest.raises(ImageRefError):
        ImageRef.parse(text)


def test_repository_has_no_tag_or_digest() -> None:
    assert ImageRef.parse_repository("team/engine").repository == "team/engine"
    for text in ("team/engine:v1", f"team/engine@{DIGEST}"):
        with pytest.raises(ImageRefError):
            ImageRef.parse_repository(text)


def test_registry_prefix_is_added_once() -> None:
    repo = ImageRef.parse_repository("team/engine")
    assert (
        str(repo.in_registry("reg.example.com").with_tag("v2")) == "reg.example.com/team/engine:v2"
    )
    pushed = ImageRef.parse_repository("reg.example.com/team/engine")
    assert pushed.in_registry("reg.example.com") == pushed
    assert repo.in_registry(None) == repo
