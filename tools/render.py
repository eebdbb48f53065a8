"""Render what the cluster would get for a stack file plus overrides, into a folder.

    python -m tools.render --stack production --set canaryVersion=v1.3.0 --set canaryPhase=10 \\
        --out rendered/production-10

Runs the real program under mocks (no engine, no cluster) and writes every manifest as YAML
plus the files the pods and Prometheus read (nginx.conf, redis.conf, alert-rules.yaml, the
dashboard), so real tools can be pointed at them. Secret data is written as `[secret]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.golden import mask_secrets, plain_numbers
from harness.mockrun import MockRun, run_program
from involution.errors import ConfigError

CONFIG_FILES = {"nginx.conf", "redis.conf", "involution-canary.json"}
RULES_FILE = "alert-rules.yaml"


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value`; a JSON object or list value is parsed, `key=` removes the key."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {pair!r}: expected key=value")
        if value == "":
            overrides[key] = None
        elif value[:1] in "{[":
            overrides[key] = json.loads(value)
        else:
            overrides[key] = value
    return overrides


def manifests(run: MockRun) -> list[dict[str, Any]]:
    """Kubernetes objects as the provider would apply them, in a stable order."""
    objects = [
        plain_numbers(mask_secrets(r.inputs, r.secret_paths))
        for r in run.resources
        if r.custom and r.type.startswith("kubernetes:") and "kind" in r.inputs
    ]
    return sorted(objects, key=lambda m: (m["kind"], m["metadata"]["name"]))


def config_files(run: MockRun) -> dict[str, str]:
    """Files carried by ConfigMaps, keyed by file name (nginx.conf, redis.conf, ...); never
    Secret data, which stays out of rendered folders."""
    files: dict[str, str] = {}
    for config_map in run.of_kind("ConfigMap"):
        data: Mapping[str, str] = config_map.inputs.get("data") or {}
        files.update({name: text for name, text in data.items() if name in CONFIG_FILES})
    return files


def alert_rules(run: MockRun) -> dict[str, Any] | None:
    """The PrometheusRule spec: a rule file `promtool check rules` reads as it is."""
    for resource in run.resources:
        if resource.inputs.get("kind") == "PrometheusRule":
            spec: dict[str, Any] = plain_numbers(dict(resource.inputs["spec"]))
            return spec
    return None


def write_render(run: MockRun, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    manifest_dir = out / "manifests"
    manifest_dir.mkdir(exist_ok=True)
    for index, manifest in enumerate(manifests(run)):
        meta = manifest["metadata"]
        name = f"{index:02d}-{manifest['kind'].lower()}-{meta['name']}.yaml"
        path = manifest_dir / name
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        written.append(path)
    for name, text in config_files(run).items():
        path = out / name
        path.write_text(text)
        written.append(path)
    rules = alert_rules(run)
    if rules is not None:
        path = out / RULES_FILE
        path.write_text(yaml.safe_dump(rules, sort_keys=False, width=4096))
        written.append(path)
    outputs = out / "outputs.json"
    outputs.write_text(json.dumps(run.outputs, indent=2, sort_keys=True) + "\n")
    written.append(outputs)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack file Pulumi.<stack>.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        run = run_program(args.stack, parse_overrides(args.set))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    written = write_render(run, args.out)
    print(f"{len(written)} files written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
