"""Involution delivery program: deploys the engine and moves its canary (see README.md)."""

from program import deploy, quiet_sdk_debug

quiet_sdk_debug()
deploy()
