"""Just enough of nginx's config grammar to read an upstream's servers and their weights.

Tokens are words, quoted strings (a `#` inside quotes is text, as in the router's /metrics
reply), `{`, `}` and `;`; `#` outside quotes starts a comment. The pack carries no nginx
parser dependency: this is the only grammar the policies need.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None


@dataclass(frozen=True)
class UpstreamServer:
    """One `server` line: its address, `weight=` (None when nginx's default 1 applies) and
    flags such as `down` or `backup`."""

    address: str
    weight: int | None
    weight_text: str | None
    flags: tuple[str, ...] = field(default=())

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0] if ":" in self.address else self.address


@dataclass(frozen=True)
class Upstream:
    name: str
    servers: tuple[UpstreamServer, ...]
    has_zone: bool


class NginxSyntaxError(ValueError):
    """The text is not a well-formed nginx config."""


def _quoted(conf: str, i: int) -> tuple[str, int]:
    """The text of the quoted string opening at `i` (a backslash escapes the next character)
    and the index after its closing quote."""
    quote, i, n, chars = conf[i], i + 1, len(conf), []
    while i < n and conf[i] != quote:
        if conf[i] == "\\" and i + 1 < n:
            i += 1
        chars.append(conf[i])
        i += 1
    if i >= n:
        raise NginxSyntaxError("unterminated quoted string")
    return "".join(chars), i + 1


def tokens(conf: str) -> Iterator[str]:
    """The tokens of a config text: words, quoted strings (unquoted), `{`, `}` and `;`."""
    i, n = 0, len(conf)
    while i < n:
        c = conf[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and conf[i] != "\n":
                i += 1
        elif c in "{};":
            yield c
            i += 1
        elif c in "'\"":
            word, i = _quoted(conf, i)
            yield word
        else:
            start = i
            while i < n and not conf[i].isspace() and conf[i] not in "{};":
                i += 1
            yield conf[start:i]


def parse(conf: str) -> list[Directive]:
    """The directive tree of a config text."""
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token in tokens(conf):
        if token == ";":
            if not words:
                raise NginxSyntaxError("empty directive")
            stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            if not words:
                raise NginxSyntaxError("block without a directive name")
            directive = Directive(words[0], words[1:], [])
            stack[-1].append(directive)
            assert directive.block is not None
            stack.append(directive.block)
            words = []
        elif token == "}":
            if words or len(stack) == 1:
                raise NginxSyntaxError("unexpected }")
            stack.pop()
        else:
            words.append(token)
    if words or len(stack) != 1:
        raise NginxSyntaxError("unexpected end of config")
    return stack[0]


def _walk(directives: list[Directive]) -> Iterator[Directive]:
    for directive in directives:
        yield directive
        if directive.block is not None:
            yield from _walk(directive.block)


def server_of(args: list[str]) -> UpstreamServer:
    """A `server <address> [weight=N] [flag ...] [key=value ...]` line's arguments."""
    weight: int | None = None
    weight_text: str | None = None
    flags: list[str] = []
    for param in args[1:]:
        key, sep, value = param.partition("=")
        if key == "weight" and sep:
            weight_text = value
            weight = int(value) if value.isdigit() else None
        elif not sep:
            flags.append(key)
    return UpstreamServer(args[0], weight, weight_text, tuple(flags))


def upstreams(conf: str, name: str) -> list[Upstream]:
    """Every `upstream <name> { ... }` block of a config text."""
    found: list[Upstream] = []
    for directive in _walk(parse(conf)):
        if directive.name != "upstream" or directive.args != [name] or directive.block is None:
            continue
        servers = [
            server_of(item.args) for item in directive.block if item.name == "server" and item.args
        ]
        has_zone = any(item.name == "zone" for item in directive.block)
        found.append(Upstream(name=name, servers=tuple(servers), has_zone=has_zone))
    return found


def mentions_upstream(conf: str, name: str) -> bool:
    """Cheap pre-check before parsing: does the text declare this upstream at all?"""
    return "upstream" in conf and name in conf


@dataclass(frozen=True)
class Split:
    """How one upstream splits traffic between the tracks.

    `weights` sums each track's `weight=` over its primary servers (a `backup` server is
    failover only and takes no share); `problems` says what in the server lines is not an
    explicit split (no weight, weight=0, a `down` flag, an unknown host, a track listed
    twice); `complete` is true when every primary server counted toward exactly one track.
    """

    weights: dict[str, int]
    problems: tuple[str, ...]
    complete: bool


def _share(server: UpstreamServer, *, allow_backup: bool) -> tuple[int | None, list[str]]:
    """(the weight a server adds to its track's share or None, what is wrong with it)."""
    label = f"server {server.address}"
    if "backup" in server.flags:
        return None, [] if allow_backup else [f"{label} is a backup server"]
    if server.weight_text is None:
        return None, [f"{label} has no weight (nginx would use 1): weights are explicit"]
    if server.weight is None:
        return None, [f"{label} weight={server.weight_text} is not a number"]
    problems: list[str] = []
    if server.weight == 0:
        problems.append(
            f"{label} has weight=0, which nginx rejects: a track at 0% is left out of the upstream"
        )
    if server.flags:
        problems.append(
            f"{label} is marked {' '.join(server.flags)}: "
            "a track at 0% is left out of the upstream instead"
        )
    return server.weight, problems


def split_weights(
    upstream: Upstream, hosts: Mapping[str, str], *, allow_backup: bool = True
) -> Split:
    """The traffic split of an upstream; `hosts` maps a server host to its track."""
    weights: dict[str, int] = {}
    problems: list[str] = []
    if not upstream.servers:
        problems.append(f"upstream {upstream.name} has no server")
    for server in upstream.servers:
        track = hosts.get(server.host)
        if track is None:
            problems.append(f"server {server.address} is neither the stable nor the canary Service")
            continue
        weight, found = _share(server, allow_backup=allow_backup)
        problems += found
        if weight is None:
            continue
        if track in weights:
            problems.append(f"the {track} track appears twice in {upstream.name}")
        weights[track] = weights.get(track, 0) + weight
    primaries = [server for server in upstream.servers if "backup" not in server.flags]
    complete = bool(primaries) and len(weights) == len(primaries)
    return Split(weights=weights, problems=tuple(problems), complete=complete)


# The traffic controls around the split: upstreams per track, a `map` on a request header
# that pins a track, `split_clients` that keeps a key on one track, `mirror` copies.


def all_upstreams(tree: list[Directive]) -> dict[str, Upstream]:
    """Every `upstream` block by name."""
    found: dict[str, Upstream] = {}
    for directive in _walk(tree):
        if directive.name == "upstream" and len(directive.args) == 1 and directive.block:
            servers = [server_of(i.args) for i in directive.block if i.name == "server" and i.args]
            has_zone = any(item.name == "zone" for item in directive.block)
            name = directive.args[0]
            found[name] = Upstream(name=name, servers=tuple(servers), has_zone=has_zone)
    return found


def upstream_track(upstream: Upstream, hosts: Mapping[str, str]) -> str | None:
    """The one track every primary server of an upstream belongs to, else None."""
    tracks = {hosts.get(s.host) for s in upstream.servers if "backup" not in s.flags}
    return next(iter(tracks)) if len(tracks) == 1 and None not in tracks else None


@dataclass(frozen=True)
class StickySplit:
    """A `split_clients <key> $var { N% <upstream>; * <upstream>; }` between track upstreams:
    `shares` are the percent of keys per track."""

    key: str
    shares: dict[str, float]
    problems: tuple[str, ...]


def _percent(text: str) -> float | None:
    try:
        return float(text[:-1]) if text.endswith("%") else None
    except ValueError:
        return None


def sticky_splits(tree: list[Directive], tracks: Mapping[str, str]) -> list[StickySplit]:
    """Every split_clients whose values name track upstreams (`tracks`: upstream -> track)."""
    found: list[StickySplit] = []
    for directive in _walk(tree):
        if directive.name != "split_clients" or not directive.block or not directive.args:
            continue
        if not any(item.args and item.args[0] in tracks for item in directive.block):
            continue
        shares: dict[str, float] = {}
        problems: list[str] = []
        rest: str | None = None
        for item in directive.block:
            track = tracks.get(item.args[0]) if item.args else None
            if track is None:
                problems.append(f"split_clients value {item.args} is not a track's upstream")
                continue
            if item.name == "*":
                rest = track
                continue
            percent = _percent(item.name)
            if percent is None:
                problems.append(f"split_clients bucket {item.name!r} is not a percentage")
                continue
            shares[track] = shares.get(track, 0.0) + percent
        if rest is not None:
            shares[rest] = shares.get(rest, 0.0) + 100.0 - sum(shares.values())
        found.append(StickySplit(directive.args[0], shares, tuple(problems)))
    return found


def header_overrides(tree: list[Directive], tracks: Mapping[str, str]) -> list[str]:
    """The request headers (`$http_...` variables) a `map` turns into a track's upstream."""
    found: list[str] = []
    for directive in _walk(tree):
        if directive.name != "map" or not directive.block or not directive.args:
            continue
        source = directive.args[0]
        if source.startswith("$http_") and any(
            item.args and item.args[0] in tracks for item in directive.block
        ):
            found.append(source)
    return found


def mirror_targets(tree: list[Directive]) -> list[str]:
    """The upstreams `mirror` copies go to: each mirror URI's `location = URI` proxy_pass."""
    locations = {
        d.args[-1]: d.block
        for d in _walk(tree)
        if d.name == "location" and d.block is not None and d.args
    }
    targets: list[str] = []
    for directive in _walk(tree):
        if directive.name != "mirror" or not directive.args or directive.args[0] == "off":
            continue
        for item in locations.get(directive.args[0]) or []:
            if item.name == "proxy_pass" and item.args:
                address = item.args[0].removeprefix("http://").removeprefix("https://")
                targets.append(address.split("$", 1)[0].split("/", 1)[0])
    return targets
