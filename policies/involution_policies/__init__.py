"""Policies of the Involution release pack, one module per concern.

`release` (what ships, approvals, gates, weights), `workloads` (pod hardening and sizing),
`data` (secrets and Redis exposure), `stack` (rules across resources). Each module exports
`POLICIES`; `props`, `kube`, `nginx` and `config` read the engine's data for them.
"""
