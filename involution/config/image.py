"""Engine image build: when a build context is configured, build and push the version."""

from __future__ import annotations

from dataclasses import dataclass

from involution.config.reader import ConfigReader, SecretText

FIELDS = {
    "context": "folder holding the engine's Dockerfile",
    "dockerfile": "Dockerfile path relative to the context",
    "registry": "registry server to push to, e.g. registry.example.com",
    "username": "registry user",
    "password": "registry password or token (secret)",
    "platform": "target platform, e.g. linux/amd64",
}
SECRET_FIELDS = frozenset({"password"})


@dataclass(frozen=True)
class ImageBuildSettings:
    """Where the engine image is built from and pushed to."""

    context: str
    dockerfile: str
    registry: str | None
    username: str | None
    password: SecretText | None
    platform: str


def read_image_build(
    reader: ConfigReader, *, dev: bool, warnings: list[str]
) -> ImageBuildSettings | None:
    o = reader.fields("imageBuild", FIELDS, SECRET_FIELDS)
    if not o.present:
        return None
    context = o.text("context")
    if context is None:
        o.problem("context", None, "required when imageBuild is set: the build context folder")
        return None
    if dev:
        warnings.append("imageBuild is ignored in dev: dev renders manifests and pushes nothing")
        return None
    registry = o.text("registry")
    username = o.text("username")
    password = o.secret("password")
    if (username is None) != (password is None):
        o.problem(
            "username" if username is None else "password",
            None,
            "username and password go together",
        )
    return ImageBuildSettings(
        context=context,
        dockerfile=o.text("dockerfile", "Dockerfile") or "Dockerfile",
        registry=registry,
        username=username,
        password=password,
        platform=o.text("platform", "linux/amd64") or "linux/amd64",
    )
