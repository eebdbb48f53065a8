"""EngineImage: build the engine image for one version and push it, so tracks pin its digest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.secrets import secret_output
from involution.config_image import ImageBuildSettings
from involution.versions import EngineVersion


@dataclass(frozen=True)
class EngineImageArgs:
    """Which version to build, from where, to which repository."""

    build: ImageBuildSettings
    repository: str
    version: EngineVersion


def qualified_repository(repository: str, registry: str | None) -> str:
    """The repository as pulled: prefixed with the registry the image is pushed to."""
    if registry and not repository.startswith(f"{registry}/"):
        return f"{registry}/{repository}"
    return repository


def image_name(args: EngineImageArgs) -> str:
    return f"{qualified_repository(args.repository, args.build.registry)}:{args.version.tag}"


class EngineImage(pulumi.ComponentResource):
    """docker build + push; `image_ref` is `repository@sha256:...`, immutable, unlike a tag."""

    image_ref: pulumi.Output[str]
    image_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: EngineImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:EngineImage", name, None, opts)
        build = args.build
        registry: docker.RegistryArgs | None = None
        if build.registry:
            registry = docker.RegistryArgs(
                server=build.registry,
                username=build.username,
                password=secret_output(build.password) if build.password else None,
            )
        image = docker.Image(
            f"{name}-image",
            image_name=image_name(args),
            build=docker.DockerBuildArgs(
                context=build.context,
                dockerfile=f"{build.context.rstrip('/')}/{build.dockerfile}",
                platform=build.platform,
                args={"ENGINE_VERSION": args.version.tag},
            ),
            registry=registry,
            skip_push=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = image.repo_digest
        self.image_name = image.image_name
        self.register_outputs({"image_ref": self.image_ref, "image_name": self.image_name})
