"""IAM as EMR's tooling finds it in a team's real account: the default EMR roles exist
(EMR_DefaultRole, EMR_EC2_DefaultRole with its instance profile, EMR_AutoScaling_DefaultRole),
so `aws emr create-default-roles` finds them and exits 0, and tools that read them see
what they expect. AWS's managed policies are attached when moto holds them
(MOTO_IAM_LOAD_MANAGED_POLICIES=true, moto's switch: 0.6 s of CPU at the first IAM use, so
it stays off by default); the roles' trust policies are EMR's.

The roles are never required: RunJobFlow accepts any role name, as the rehearsal does not
enforce IAM (moto's S3 does not either). Without them, create-default-roles would have to
create them, and the AWS CLI can only work out EMR's service principal from an
`elasticmapreduce.<region>.amazonaws.com` URL, which a local endpoint is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# name: (the service principals that may assume it, the AWS managed policy EMR attaches)
DEFAULT_ROLES = {
    "EMR_EC2_DefaultRole": (["ec2.amazonaws.com"], "AmazonElasticMapReduceforEC2Role"),
    "EMR_DefaultRole": (["elasticmapreduce.amazonaws.com"], "AmazonElasticMapReduceRole"),
    "EMR_AutoScaling_DefaultRole": (["elasticmapreduce.amazonaws.com",
                                     "application-autoscaling.amazonaws.com"],
                                    "AmazonElasticMapReduceforAutoScalingRole"),
}
INSTANCE_PROFILE = "EMR_EC2_DefaultRole"


def ensure_default_roles(iam: Any) -> list[str]:
    """Create the default EMR roles and instance profile in a moto IAM backend where
    missing; returns the names created."""
    existing = {role.name for role in iam.roles.values()}
    created = []
    for name, (principals, policy) in DEFAULT_ROLES.items():
        if name in existing:
            continue
        trust = {"Version": "2008-10-17", "Statement": [{
            "Sid": "", "Effect": "Allow", "Principal": {"Service": principals},
            "Action": "sts:AssumeRole"}]}
        iam.create_role(role_name=name, assume_role_policy_document=json.dumps(trust),
                        path="/", permissions_boundary=None, description="",
                        tags=[], max_session_duration=None)
        arn = f"arn:aws:iam::aws:policy/service-role/{policy}"
        if arn in iam.managed_policies:  # loaded only with moto's switch (0.6 s of CPU)
            iam.attach_role_policy(arn, name)
        created.append(name)
    if INSTANCE_PROFILE not in {p.name for p in iam.instance_profiles.values()}:
        iam.create_instance_profile(INSTANCE_PROFILE, "/", role_names=[INSTANCE_PROFILE])
        created.append(f"instance profile {INSTANCE_PROFILE}")
    return created


def install_default_roles() -> Callable[[], None]:
    """Every IAM account moto creates from now on (lazily, at its first IAM request, and
    again after a reset) holds AWS's managed policies and the default EMR roles: moto's
    IAM backend, derived, in moto's own registry; returns what restores moto's."""
    from moto.iam import urls
    from moto.iam.models import IAMBackend, iam_backends

    class IAMWithDefaultRoles(IAMBackend):
        _url_module = urls  # moto's routing, found from the backend's module otherwise

        def __init__(self, region_name: str, account_id: str) -> None:
            super().__init__(region_name, account_id)
            ensure_default_roles(self)

    original = iam_backends.backend
    iam_backends.backend = IAMWithDefaultRoles

    def restore() -> None:
        iam_backends.backend = original

    return restore
