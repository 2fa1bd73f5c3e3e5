"""The cluster backends the integration tests run on: every test that starts a cluster is
parametrised over these, never copied per backend. HARNESS_TEST_BACKENDS=process narrows
the list on a machine without a Docker engine (CI's scripts/ensure-docker provides one)."""

from __future__ import annotations

import os

CLUSTER_BACKENDS = [b.strip() for b in
                    os.environ.get("HARNESS_TEST_BACKENDS", "process,docker").split(",")
                    if b.strip()]
