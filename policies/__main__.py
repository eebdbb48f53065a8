"""The Involution release policy pack: only assembles the policies of each domain.

The engine starts it as `python -u -m pulumi.policy <engine-address> .` in this directory
(see PulumiPolicy.yaml); constructing the PolicyPack serves the Analyzer gRPC protocol and
prints its port.
"""

from involution_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="involution-release",
    description="Blocks Involution Engine releases that break the release process.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
