"""EngineImage: build the engine image for one version and push it, so tracks pin its digest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.secrets import secret_output
from involution.config.image import ImageBuildSettings
from involution.images import ImageRef
from involution.versions import EngineVersion


@dataclass(frozen=True)
class EngineImageArgs:
    """Which version to build, from where, to which repository."""

    build: ImageBuildSettings
    repository: ImageRef
    version: EngineVersion


def image_name(args: EngineImageArgs) -> str:
    """The tag pushed: the repository in the build's registry, the version as tag."""
    return str(args.repository.in_registry(args.build.registry).with_tag(args.version.tag))


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
