"""Secrets: credentials live only in Secrets, never in env literals or ConfigMaps.

The secret-name rule, shared by env vars and ConfigMap keys, is deliberately narrow so it
flags credentials and not the many names that merely contain a secret-ish word:

* a name is split into words at `_`, `-` and `.` (`REDIS_KEY_PREFIX` -> REDIS, KEY, PREFIX);
* a name whose last word says it is a reference, not a value (FILE, PATH, DIR, NAME, REF, ID,
  URL, PREFIX, SUFFIX, TTL, ...), is never secret: PASSWORD_FILE, SECRET_NAME,
  AWS_ACCESS_KEY_ID, REDIS_KEY_PREFIX, TOKEN_URL;
* otherwise it is secret when any word is PASSWORD, PASSWD or PASSPHRASE, when it contains
  PRIVATE KEY, or when its last word is SECRET, TOKEN, KEY, APIKEY, AUTH, CREDENTIAL(S) or PASS
  (API_KEY, SIGNING_KEY, REDISCLI_AUTH, GITHUB_TOKEN, CLIENT_SECRET, tls.key).

Values are also scanned for what is a credential whatever its name: private-key blocks, AWS
access key ids, Slack/GitHub tokens, bearer tokens, passwords inside URLs and `password=`
style pairs. Placeholders (`$VAR`, `${VAR}`, `{{ ... }}`, `<...>`) are not credentials.
"""

from __future__ import annotations

import re
from typing import Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import WORKLOAD_KINDS, containers, kind_of, object_name, pod_spec
from involution_policies.props import elements, entries, get, is_unknown, text

_ALWAYS_SECRET: Final = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE"})
_SECRET_LAST: Final = frozenset(
    {"SECRET", "TOKEN", "KEY", "APIKEY", "AUTH", "CREDENTIAL", "CREDENTIALS", "PASS", "PWD"}
)
_REFERENCE_LAST: Final = frozenset(
    {
        "FILE",
        "PATH",
        "DIR",
        "NAME",
        "REF",
        "ID",
        "URL",
        "URI",
        "ENDPOINT",
        "HOST",
        "PREFIX",
        "SUFFIX",
        "TTL",
        "TIMEOUT",
        "LENGTH",
        "SIZE",
        "TYPE",
        "ALGORITHM",
        "HEADER",
        "ENABLED",
    }
)

# Credentials recognisable by their content, whatever they are called.
_CREDENTIAL_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("a private key", re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("an AWS secret access key", re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*\S+")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}")),
    ("a Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/[0-9A-Za-z/]+")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[0-9A-Za-z]{36,}\b")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[0-9A-Za-z\-._~+/]{16,}=*")),
    ("a password inside a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@$]+@")),
)
# `password = x`, `"token": "x"`, `PASSWORD=x` (a `:` or `=` between key and value).
_PAIR = re.compile(
    r"(?i)(?:^|[\s{,;\"'])(?P<key>[a-z0-9_.-]*(?:password|passwd|passphrase|secret|token|"
    r"api[_-]?key|access[_-]?key|private[_-]?key))[\"']?\s*[=:]\s*[\"']?(?P<value>[^\s\"',;}]+)"
)
# redis.conf: `requirepass x`, `masterauth x`.
_REDIS_AUTH = re.compile(r"(?im)^\s*(?P<key>requirepass|masterauth)\s+(?P<value>\S+)")
_PLACEHOLDER = re.compile(r"^(\$\{?[A-Za-z_]|\{\{|<|%\(|\[secret\]|\*+$|\"\"$)")


def _words(name: str) -> list[str]:
    return [word for word in re.split(r"[_\-.]+", name.upper()) if word]


def is_secret_name(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """The secret-name rule of this module's docstring."""
    words = _words(name)
    if not words or words[-1] in _REFERENCE_LAST:
        return False
    if any(word in _ALWAYS_SECRET for word in words):
        return True
    if "PRIVATE" in words and "KEY" in words:
        return True
    return words[-1] in _SECRET_LAST or words[-1] in extra


def credential_in(value: str) -> str | None:
    """What credential a text holds, or None."""
    for what, pattern in _CREDENTIAL_PATTERNS:
        if pattern.search(value):
            return what
    for match in _REDIS_AUTH.finditer(value):
        if not _PLACEHOLDER.match(match.group("value")):
            return f"a Redis `{match.group('key')}` password"
    for match in _PAIR.finditer(value):
        key, found = match.group("key"), match.group("value")
        if not is_secret_name(key) or _PLACEHOLDER.match(found):
            continue
        if found.lower() in ("true", "false", "null", "none", "yes", "no"):
            continue
        return f"a `{key}` value"
    return None


ENV_SCHEMA: Final[Schema] = {
    "allowedNames": string_list("env names never treated as secrets", []),
    "extraSecretWords": string_list("more last words that make a name secret", []),
}


def no_literal_secret_env(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Secret-looking env vars (PASSWORD, SECRET, TOKEN, KEY, ...) come from a Secret via
    `secretKeyRef`, never a literal `value` or a ConfigMap; no env value holds a credential.

    A literal lands in the Deployment spec, the Pulumi state and every `kubectl get -o yaml`;
    a Secret reference keeps it in one encrypted, access-controlled place. The name rule is in
    this module's docstring (REDIS_KEY_PREFIX, PASSWORD_FILE, AWS_ACCESS_KEY_ID are not secrets).
    """
    kind = kind_of(args.resource_type)
    if kind not in WORKLOAD_KINDS:
        return
    cfg = config_of(args, ENV_SCHEMA)
    allowed = {name.upper() for name in cfg.strings("allowedNames")}
    extra = frozenset(word.upper() for word in cfg.strings("extraSecretWords"))
    for container in containers(pod_spec(kind, args.props)):
        for item in elements(get(container.spec, "env")):
            name = text(get(item, "name"))
            if name is None or name.upper() in allowed:
                continue
            value = get(item, "value")
            secret_name = is_secret_name(name, extra)
            if isinstance(value, str) and not is_unknown(value) and value.strip():
                if secret_name and not _PLACEHOLDER.match(value) and not value.startswith("$("):
                    report(
                        f"{container.label} sets {name} to a literal value: "
                        "use valueFrom.secretKeyRef",
                        None,
                    )
                    continue
                found = credential_in(value)
                if found:
                    report(f"{container.label} env {name} holds {found}: use a Secret", None)
            elif secret_name and get(item, "valueFrom", "configMapKeyRef") is not None:
                report(
                    f"{container.label} reads {name} from a ConfigMap: use valueFrom.secretKeyRef",
                    None,
                )


CONFIGMAP_SCHEMA: Final[Schema] = {
    "allowedKeys": string_list("`<configmap name>/<key>` entries never scanned", []),
}


def no_secrets_in_configmaps(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """ConfigMaps hold no credentials: no secret-named keys, no `requirepass`/`password=`
    values, private keys, cloud keys or tokens.

    ConfigMaps are readable by anyone who can read the namespace and are never encrypted at
    rest; Redis auth, for one, comes from a Secret the config `include`s.
    """
    kind = kind_of(args.resource_type)
    if kind != "ConfigMap":
        return
    cfg = config_of(args, CONFIGMAP_SCHEMA)
    name = text(get(args.props, "metadata", "name")) or args.name
    allowed = set(cfg.strings("allowedKeys"))
    where = object_name(kind, args.props, args.name)
    for section in ("data", "binaryData"):
        for key, value in entries(get(args.props, section)):
            if f"{name}/{key}" in allowed or is_unknown(value):
                continue
            if is_secret_name(key) and value not in (None, ""):
                report(f"{where} key {key!r} looks like a credential: move it to a Secret", None)
                continue
            if section == "data" and isinstance(value, str):
                found = credential_in(value)
                if found:
                    report(f"{where} key {key!r} holds {found}: move it to a Secret", None)


POLICIES: Final = [
    resource_policy(
        "no-literal-secret-env",
        EnforcementLevel.MANDATORY,
        no_literal_secret_env,
        ENV_SCHEMA,
    ),
    resource_policy(
        "no-secrets-in-configmaps",
        EnforcementLevel.MANDATORY,
        no_secrets_in_configmaps,
        CONFIGMAP_SCHEMA,
    ),
]
