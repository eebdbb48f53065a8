"""What a release workflow does with a version: the checks of its `validate` job.

    python -m tools.release_plan --version v1.3.0 --stack staging --stack production \\
        --gate codeQuality=passed --gate unitTests=passed ... [--github-output FILE]

The version must be a release tag vX.Y.Z (no pre-release: those never reach production) newer
than each stack's stableVersion in its tracked Pulumi.<stack>.yaml, and all six quality gates of
docs/release-process.md must be `passed`. Prints the release type per stack (`patch` takes the
direct path to stableVersion, `minor` and `major` a canary, `current` when the stack already
runs it: a re-run resumes where the release stopped) as `kind_<stack>=<type>` lines,
appended to --github-output (the job's $GITHUB_OUTPUT) too. Exits 0, or 1 naming every problem.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.mockrun import load_stack_config
from involution.config.release import GATE_NAMES, GATE_VALUES
from involution.versions import EngineVersion, VersionError, release_type

# The stack already runs the version as stable (a re-run of a release that got that far).
CURRENT = "current"
RELEASE_TAG = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def gate_problems(gates: dict[str, str]) -> list[str]:
    problems = [f"unknown gate {name!r}" for name in gates if name not in GATE_NAMES]
    for name in GATE_NAMES:
        value = gates.get(name, "")
        if value not in GATE_VALUES:
            problems.append(f"gate {name} is {value!r}: one of {', '.join(GATE_VALUES)}")
        elif value != "passed":
            problems.append(f"gate {name} {value}: every gate must pass before a release")
    return problems


def plan(
    version: str, stacks: Sequence[str], gates: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The release type per stack, and every problem found."""
    problems = gate_problems(gates)
    if not RELEASE_TAG.match(version):
        return {}, [f"version {version!r} is not a release tag vX.Y.Z", *problems]
    target = EngineVersion.parse(version)
    kinds: dict[str, str] = {}
    for stack in stacks:
        stable_text = load_stack_config(stack).get("stableVersion", "")
        try:
            stable = EngineVersion.parse(stable_text)
        except VersionError as error:
            problems.append(f"{stack}: stableVersion: {error}")
            continue
        if stable == target:
            kinds[stack] = CURRENT  # a re-run after this stack got it: nothing to do there
        elif target < stable:
            problems.append(f"{stack} runs {stable.tag}: {target.tag} is older")
        else:
            kinds[stack] = release_type(stable, target).value
    return kinds, problems


def parse_gate(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=passed|failed")
    return name.strip(), value.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--version", required=True, help="the engine version tag, vX.Y.Z")
    parser.add_argument("--stack", action="append", required=True, help="repeat per stack")
    parser.add_argument("--gate", action="append", default=[], type=parse_gate, metavar="N=V")
    parser.add_argument("--github-output", type=Path, help="append kind_<stack>=... here")
    args = parser.parse_args(argv)
    kinds, problems = plan(args.version.strip(), args.stack, dict(args.gate))
    if problems:
        for problem in problems:
            print(f"release_plan: {problem}", file=sys.stderr)
        return 1
    lines = [f"kind_{stack}={kind}" for stack, kind in kinds.items()]
    print("\n".join(lines))
    if args.github_output is not None:
        with args.github_output.open("a") as output:
            output.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
