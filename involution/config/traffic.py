"""Config of the router's traffic controls (`traffic`): header override, sticky split, mirror.

traffic.override        pin a request to a track by a header (default: on in dev and
                        staging, off in production)
traffic.overrideHeader  that header (default X-Involution-Track)
traffic.stickyBy        none | header:<Name> | cookie:<name> | ip: what keeps a client on
                        one track within a phase, monotone across phases
traffic.mirrorPercent   at phase `shadow`, the percent of requests copied to the canary
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from involution.config.reader import ConfigReader
from involution.contract import Environment

DEFAULT_OVERRIDE_HEADER = "X-Involution-Track"
TRAFFIC_FIELDS = ("override", "overrideHeader", "stickyBy", "mirrorPercent")
# Letters, digits and '-' only: nginx reads a header as $http_<name> with '-' as '_', and
# ignores headers with '_' by default (underscores_in_headers off).
HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
HEADER_FORM = "an HTTP header name: a letter, then letters, digits or '-' (at most 64)"
# An nginx variable name: $cookie_<name> takes letters, digits and '_'.
COOKIE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
STICKY_FORM = (
    "none, ip, header:<Name> (an HTTP header name: letters, digits, '-') "
    "or cookie:<name> (letters, digits, '_')"
)


@dataclass(frozen=True)
class StickyKey:
    """What keeps a client on one track: `kind` none, ip, header or cookie, and its name."""

    kind: str = "none"
    name: str = ""

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def variable(self) -> str:
        """The nginx variable holding the key (empty when the request has none)."""
        if self.kind == "ip":
            return "$remote_addr"
        if self.kind == "header":
            return "$" + header_variable(self.name)
        if self.kind == "cookie":
            return f"$cookie_{self.name}"
        return ""

    def __str__(self) -> str:
        return self.kind if self.kind in ("none", "ip") else f"{self.kind}:{self.name}"


def header_variable(header: str) -> str:
    """nginx's variable for a request header, without the `$`: X-Foo-Bar -> http_x_foo_bar."""
    return "http_" + header.lower().replace("-", "_")


def parse_sticky(text: str) -> StickyKey:
    """`none`, `ip`, `header:<Name>`, `cookie:<name>`; anything else is a ValueError."""
    if text in ("none", "ip"):
        return StickyKey(text)
    kind, sep, name = text.partition(":")
    if sep and kind == "header" and HEADER_NAME.match(name):
        return StickyKey("header", name)
    if sep and kind == "cookie" and COOKIE_NAME.match(name):
        return StickyKey("cookie", name)
    raise ValueError(text)


@dataclass(frozen=True)
class TrafficSettings:
    """The router's traffic controls; the defaults are today's plain weighted split."""

    override: bool = False
    override_header: str = DEFAULT_OVERRIDE_HEADER
    sticky: StickyKey = StickyKey()
    mirror_percent: int = 100


def read_traffic(reader: ConfigReader, environment: Environment) -> TrafficSettings:
    fields = reader.fields("traffic", {name: "" for name in TRAFFIC_FIELDS})
    override = fields.boolean("override", environment is not Environment.PRODUCTION)
    header = fields.pattern("overrideHeader", DEFAULT_OVERRIDE_HEADER, HEADER_NAME, HEADER_FORM)
    sticky_text = fields.text("stickyBy", "none")
    assert sticky_text is not None
    try:
        sticky = parse_sticky(sticky_text)
    except ValueError:
        fields.problem("stickyBy", sticky_text, STICKY_FORM)
        sticky = StickyKey()
    mirror = fields.number("mirrorPercent", 100, minimum=1, maximum=100, exclusive_minimum=False)
    if not float(mirror).is_integer():
        fields.problem("mirrorPercent", fields.record.get("mirrorPercent"), "an integer 1..100")
        mirror = 100
    return TrafficSettings(
        override=override, override_header=header, sticky=sticky, mirror_percent=int(mirror)
    )
