"""Build the local node's images and import them into its containerd, with no registry but a
throwaway one on loopback.

    venv/bin/python -m tools.node_images --crane BIN/crane --ctr ctr --address SOCKET \\
        --home CACHE --pause-image REF

scripts/node.sh runs it once containerd is up. Every image is one layer of files and a
config: the Go stand-ins of images/ (the engine, once per version of
harness.cluster.stand_ins.ENGINE_VERSIONS with its faults in the environment; the time-resolver; the
pods' pause container), built static, and nginx and redis from Debian's packages (the binary,
the shared libraries `ldd` names, what the pod runs besides: a shell and `sleep` for the
router's preStop hook, redis-cli for Redis's readiness probe). The layer is a reproducible tar
(`crane append --oci-empty-base`), the config is set with `crane mutate` (platform, entrypoint,
environment, user) on `crane registry serve`, the image is pulled as a tarball and imported
with `ctr -n k8s.io images import`, and tagged with the reference the pods name.

An image is rebuilt only when its layer or config changed (a digest per reference, kept in
the cache) or containerd lacks it. The router and Redis references come from
Pulumi.local.yaml (`nginxImage`, `redisImage`), whose tag must start with the packaged
upstream version: a Debian update to a new upstream version fails here, asking for the pin.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import yaml_load
from harness.cluster.stand_ins import ENGINE_VERSIONS, VERSION_HEADER
from harness.live.net import LOOPBACK, free_port, wait_until
from harness.paths import PROJECT_DIR
from involution.config.monitoring import MonitoringSettings
from involution.contract import (
    DEFAULT_IMAGE_REPOSITORY,
    DEFAULT_TIME_RESOLVER_REPOSITORY,
    DEFAULT_TIME_RESOLVER_VERSION,
)
from involution.names import ENGINE_PORT, RESOLVER_PORT, RUN_AS_USER
from involution.nginx.conf import TRACK_HEADER
from tools.image_layers import Entry, base_entries, debian_files, parent_dirs, tar_layer

IMAGES_DIR = PROJECT_DIR / "images"
LOCAL_STACK = PROJECT_DIR / "Pulumi.local.yaml"
NAMESPACE = "k8s.io"  # containerd's namespace of the CRI plugin
PLATFORM = "linux/amd64"
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ImageSpec:
    ref: str  # as a pod names it
    entries: tuple[Entry, ...]
    entrypoint: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str | None = None

    def layer(self) -> bytes:
        return tar_layer(self.entries)

    def key(self, layer: bytes) -> str:
        """What the image is made of: a changed layer or config rebuilds it."""
        config = json.dumps(
            [self.entrypoint, sorted(self.env.items()), self.stop_signal, PLATFORM, RUN_AS_USER]
        )
        return hashlib.sha256(layer + config.encode()).hexdigest()


def normalized(ref: str) -> str:
    """The name containerd's CRI plugin stores for a reference (Docker's normalization)."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def packaged_version(binary: str) -> str:
    """The upstream version of the Debian package that ships `binary` (1.22.1 of
    1.22.1-9+deb12u11; 7.0.15 of 5:7.0.15-1~deb12u10)."""
    owner = subprocess.run(["dpkg", "-S", binary], capture_output=True, text=True, check=True)
    package = owner.stdout.split(":", 1)[0].strip()
    query = ["dpkg-query", "-W", "-f", "${Version}", package]
    version = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    return version.split(":", 1)[-1].split("-", 1)[0].split("~", 1)[0]


def pinned(key: str, binary: str) -> str:
    """The image reference Pulumi.local.yaml sets for `key`, checked against the package."""
    config = yaml_load.load(LOCAL_STACK.read_text())["config"]
    ref = str(config[f"involution:{key}"])
    tag = ref.rsplit(":", 1)[-1]
    have = packaged_version(binary)
    if not tag.startswith(f"{have}-"):
        raise SystemExit(
            f"node_images: {LOCAL_STACK.name} pins involution:{key} = {ref}, but Debian's "
            f"{binary} is {have}: set the tag to {have}-debian<release> there"
        )
    return ref


def go_programs(out: Path) -> dict[str, Path]:
    """The stand-ins of images/, static binaries."""
    env = {**os.environ, "CGO_ENABLED": "0"}
    command = ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", f"{out}/", "./..."]
    subprocess.run(command, cwd=IMAGES_DIR, env=env, check=True)
    return {name: out / name for name in ("engine", "resolver", "pause")}


def static_image(ref: str, binary: Path, args: Sequence[str], env: Mapping[str, str]) -> ImageSpec:
    entries = [*base_entries(), Entry(binary.name, source=binary)]
    return ImageSpec(ref, tuple(entries), (f"/{binary.name}", *args), env)


def specs(programs: Mapping[str, Path], pause_image: str) -> list[ImageSpec]:
    m = MonitoringSettings()
    engine_args = (
        f"--listen=:{ENGINE_PORT}",
        f"--track-header={TRACK_HEADER}",
        f"--version-header={VERSION_HEADER}",
        f"--requests-metric={m.requests_metric}",
        f"--status-label={m.status_label}",
        f"--latency-metric={m.latency_metric}",
        f"--accuracy-metric={m.accuracy_metric}",
    )
    images = [static_image(pause_image, programs["pause"], (), {})]
    images += [
        static_image(
            f"{DEFAULT_IMAGE_REPOSITORY}:{version}",
            programs["engine"],
            engine_args,
            {"INVOLUTION_BUILT_VERSION": version, **faults.environment()},
        )
        for version, faults in ENGINE_VERSIONS.items()
    ]
    images.append(
        static_image(
            f"{DEFAULT_TIME_RESOLVER_REPOSITORY}:{DEFAULT_TIME_RESOLVER_VERSION}",
            programs["resolver"],
            (f"--listen=:{RESOLVER_PORT}",),
            {},
        )
    )
    nginx = [*debian_files(["/usr/sbin/nginx", "/usr/bin/dash", "/usr/bin/sleep"])]
    nginx += [
        Entry("usr/bin/sh", link="dash"),
        Entry("etc/nginx"),
        Entry("etc/nginx/nginx.conf", data=b"", mode=0o644),
        Entry("var"),
        Entry("var/log"),
        Entry("var/log/nginx"),
        Entry("var/log/nginx/access.log", link="/dev/stdout"),
        Entry("var/log/nginx/error.log", link="/dev/stderr"),
    ]
    images.append(
        ImageSpec(
            pinned("nginxImage", "/usr/sbin/nginx"),
            tuple(base_entries() + nginx),
            ("nginx", "-g", "daemon off;"),
            {"PATH": SEARCH_PATH},
            # As the official nginx images: SIGQUIT is nginx's graceful stop (SIGTERM drops
            # the requests in flight).
            stop_signal="SIGQUIT",
        )
    )
    redis = debian_files(["/usr/bin/redis-server", "/usr/bin/redis-cli"])
    redis += [Entry("etc/redis"), Entry("data", mode=0o777)]
    images.append(
        ImageSpec(
            pinned("redisImage", "/usr/bin/redis-server"),
            tuple(base_entries() + redis),
            ("redis-server",),
            {"PATH": SEARCH_PATH},
        )
    )
    return [
        ImageSpec(s.ref, (*s.entries, *parent_dirs(s.entries)), s.entrypoint, s.env, s.stop_signal)
        for s in images
    ]


@dataclass
class Tools:
    crane: str
    ctr: str
    address: str

    def run(self, *command: str, input_bytes: bytes | None = None) -> str:
        result = subprocess.run(command, input=input_bytes, capture_output=True, check=False)
        if result.returncode != 0:
            raise SystemExit(
                f"node_images: {' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}"
            )
        return result.stdout.decode()

    def ctr_cmd(self, *args: str) -> str:
        return self.run(self.ctr, "--address", self.address, "--namespace", NAMESPACE, *args)

    def images(self) -> set[str]:
        return set(self.ctr_cmd("images", "list", "--quiet").split())


@contextlib.contextmanager
def registry(crane: str, folder: Path) -> Iterator[str]:
    """`crane registry serve` on a free loopback port, for the length of the block."""
    port = free_port()
    log = (folder / "registry.log").open("wb")
    process = subprocess.Popen(
        [crane, "registry", "serve", "--address", f"{LOOPBACK}:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _answers(port), 10.0, "crane registry serve")
        yield f"{LOOPBACK}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((LOOPBACK, port)) == 0


def build_one(spec: ImageSpec, layer: bytes, tools: Tools, at: str, folder: Path) -> None:
    """Layer, config, tarball, import, tag: one image into containerd."""
    name = spec.ref.rsplit(":", 1)[0].replace("/", "-")
    staged = f"{at}/{name}:{spec.ref.rsplit(':', 1)[1]}"
    layer_path = folder / f"{name}.layer.tar"
    layer_path.write_bytes(layer)
    tools.run(tools.crane, "append", "--oci-empty-base", "-f", str(layer_path), "-t", staged)
    mutate = [tools.crane, "mutate", staged, "--set-platform", PLATFORM, "-t", staged]
    mutate += ["--entrypoint", ",".join(spec.entrypoint), "--user", f"{RUN_AS_USER}:{RUN_AS_USER}"]
    for key, value in sorted(spec.env.items()):
        mutate += ["--env", f"{key}={value}"]
    tools.run(*mutate)
    if spec.stop_signal is not None:
        config = json.loads(tools.run(tools.crane, "config", staged))
        config.setdefault("config", {})["StopSignal"] = spec.stop_signal
        tools.run(tools.crane, "edit", "config", staged, input_bytes=json.dumps(config).encode())
    archive = folder / f"{name}.tar"
    tools.run(tools.crane, "pull", "--platform", PLATFORM, staged, str(archive))
    tools.ctr_cmd("images", "import", "--platform", PLATFORM, str(archive))
    target = normalized(spec.ref)
    tools.ctr_cmd("images", "tag", "--force", staged, target)
    tools.ctr_cmd("images", "remove", staged)
    archive.unlink()
    layer_path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crane", required=True)
    parser.add_argument("--ctr", required=True)
    parser.add_argument("--address", required=True, help="containerd's socket")
    parser.add_argument("--home", required=True, type=Path, help="cache folder")
    parser.add_argument("--pause-image", required=True)
    args = parser.parse_args(argv)
    started = time.monotonic()
    tools = Tools(args.crane, args.ctr, args.address)
    stamps = args.home / "image-digests.json"
    built: dict[str, str] = json.loads(stamps.read_text()) if stamps.exists() else {}
    args.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="involution-images-") as scratch:
        folder = Path(scratch)
        all_specs = specs(go_programs(folder / "bin"), args.pause_image)
        present = tools.images()
        todo = []
        for spec in all_specs:
            layer = spec.layer()
            key = spec.key(layer)
            if built.get(spec.ref) != key or normalized(spec.ref) not in present:
                todo.append((spec, layer, key))
        if todo:
            with registry(args.crane, folder) as at:
                for spec, layer, key in todo:
                    build_one(spec, layer, tools, at, folder)
                    built[spec.ref] = key
                    stamps.write_text(json.dumps(built, indent=1, sort_keys=True))
    names = ", ".join(spec.ref for spec, _, _ in todo) or "none (all cached)"
    print(
        f"node_images: {len(all_specs)} images in containerd; built {names} in "
        f"{time.monotonic() - started:.0f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
