"""Just enough of nginx's config grammar to read an upstream's servers and their weights.

Tokens are words, quoted strings (a `#` inside quotes is text, as in the router's /metrics
reply), `{`, `}` and `;`; `#` outside quotes starts a comment. The pack carries no nginx
parser dependency: this is the only grammar the policies need.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def _tokens(conf: str) -> Iterator[str]:
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
            quote, i, chars = c, i + 1, []
            while i < n and conf[i] != quote:
                if conf[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(conf[i])
                i += 1
            if i >= n:
                raise NginxSyntaxError("unterminated quoted string")
            i += 1
            yield "".join(chars)
        else:
            start = i
            while i < n and not conf[i].isspace() and conf[i] not in "{};":
                i += 1
            yield conf[start:i]


def parse(conf: str) -> list[Directive]:
    """The directive tree of a config text."""
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token in _tokens(conf):
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


def upstreams(conf: str, name: str) -> list[Upstream]:
    """Every `upstream <name> { ... }` block of a config text."""
    found: list[Upstream] = []
    for directive in _walk(parse(conf)):
        if directive.name != "upstream" or directive.args != [name] or directive.block is None:
            continue
        servers: list[UpstreamServer] = []
        for item in directive.block:
            if item.name != "server" or not item.args:
                continue
            weight: int | None = None
            weight_text: str | None = None
            flags: list[str] = []
            for param in item.args[1:]:
                key, sep, value = param.partition("=")
                if key == "weight" and sep:
                    weight_text = value
                    weight = int(value) if value.isdigit() else None
                elif not sep:
                    flags.append(key)
            servers.append(UpstreamServer(item.args[0], weight, weight_text, tuple(flags)))
        has_zone = any(item.name == "zone" for item in directive.block)
        found.append(Upstream(name=name, servers=tuple(servers), has_zone=has_zone))
    return found


def mentions_upstream(conf: str, name: str) -> bool:
    """Cheap pre-check before parsing: does the text declare this upstream at all?"""
    return "upstream" in conf and name in conf
