"""Schemathesis over the served OpenAPI document: every operation, anonymous and as each role.

Run in-process against the WSGI application on the test database (the demo city, rolled back
after each test). Checks: no 5xx, every status code documented, the documented Content-Type,
bodies and headers that match the schema. Examples per operation and role:
``YIWANG_FUZZ_EXAMPLES`` (the bounded run of ``make test``: a few; ``make fuzz``: many).
Derandomized, so a run is reproducible and CI does not flake; ``YIWANG_FUZZ_SEED`` changes the
examples drawn (nightly runs pass the date).
"""

import hashlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.trust.world import ROLES, World
from yiwang.core.handlers import YiwangWSGIHandler

EXAMPLES = int(os.environ.get("YIWANG_FUZZ_EXAMPLES", "2"))
# ``make test`` fuzzes each operation anonymously and as ROLES_PER_OPERATION of the other roles,
# rotating with the operation, so that every role meets about a third of the operations in every
# run (the permission matrix asks every role about every URL; this looks for 5xx and schema
# drift). ``make fuzz`` (YIWANG_FUZZ_ALL_ROLES=1) takes every role on every operation.
ALL_ROLES = bool(os.environ.get("YIWANG_FUZZ_ALL_ROLES"))
ROLES_PER_OPERATION = 3
# Unset: derandomized (the same examples every run). Set (nightly: the date): other examples, reproducibly.
SEED = int(os.environ["YIWANG_FUZZ_SEED"]) if os.environ.get("YIWANG_FUZZ_SEED") else None
# The coverage phase (schemathesis' boundary values, many requests per operation) only in the long run.
COVERAGE = bool(os.environ.get("YIWANG_FUZZ_COVERAGE"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# Real values for path parameters: half the examples reach a real object (owned by citizen01,
# in the 市场监管局) instead of a random id that only ever answers 404.
REAL: dict[str, list] = {}


def _real_values(world: World) -> dict[str, list]:
    return {
        "case_id": [world.case.pk, world.case_in_review.pk, world.case_waiting.pk],
        "material_id": [world.material.pk],
        "kind": [world.notice_kind, "decision"],
        "draft_id": [world.draft.pk],
        "bundle_id": [world.bundle.pk],
        "license_id": [world.license.pk],
        "presentation_id": [world.presentation.pk],
        "code": [world.presentation.code, world.life_event_code],
        "message_id": [world.message.pk],
        "implementation_code": [world.item_code],
        "identifier": [world.license.identifier],
        "department_id": [world.case.department_id],
        "number": [1],
    }


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    real = {name: REAL[name] for name in path_parameters if name in REAL}
    if not real:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.fixed_dictionaries({name: st.sampled_from(values) for name, values in real.items()}).map(
            lambda chosen: {**path_parameters, **chosen}
        ),
    )


def roles_for(operation: str) -> tuple[str, ...]:
    """The roles ``make test`` fuzzes ``operation`` as ("GET /api/v1/me"): anonymous, and a
    rotating few of the others chosen by a stable digest of the operation."""
    if ALL_ROLES:
        return ROLES
    anonymous, *others = ROLES
    start = int(hashlib.sha1(operation.encode()).hexdigest(), 16) % len(others)  # noqa: S324 (not security)
    return (anonymous, *[others[(start + n) % len(others)] for n in range(ROLES_PER_OPERATION)])


def deselect_roles(items: list) -> list:
    """The fuzz items ``make test`` does not run (``tests/trust/conftest.py`` deselects them)."""
    dropped = []
    for item in items:
        if not getattr(item, "originalname", "").startswith("test_api_fuzz[") or not hasattr(item, "callspec"):
            continue
        role = item.callspec.params.get("role")
        operation = item.name.split("[", 1)[1].split("]", 1)[0] if "[" in item.name else ""
        if role is not None and role not in roles_for(operation):
            dropped.append(item)
    return dropped


@pytest.fixture
def real_ids(world):
    REAL.clear()
    REAL.update(_real_values(world))


# The document as served (reading it needs no database), by the handler that serves production:
# bearer calls (every role but anonymous) go through its shorter API middleware chain.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", YiwangWSGIHandler())


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@(seed(SEED) if SEED is not None else lambda test: test)  # a seed overrides derandomize
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate] if COVERAGE else [Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_fuzz(case, role, world, real_ids):
    case.call_and_validate(headers=world.bearer(role), checks=CHECKS)
