"""Developer tool: print the observed outcome of every (URL, method, actor), as rows to review
and paste into tests/trust/permissions.py.

    .venv/bin/pytest tests/trust/probe_matrix.py -q -s -p no:cacheprovider 2>/dev/null
"""

import json
import os

import pytest

from tests.trust import matrix
from tests.trust.world import ROLES, World

pytestmark = pytest.mark.skipif(
    not os.environ.get("YIWANG_PROBE_MATRIX"), reason="developer tool: YIWANG_PROBE_MATRIX=1"
)


def parameters(world: World) -> dict[str, object]:
    """Default values for path parameters, by name."""
    return {
        "case_id": world.case.pk,
        "material_id": world.material.pk,
        "kind": world.notice_kind,
        "draft_id": world.draft.pk,
        "bundle_id": world.bundle.pk,
        "license_id": world.license.pk,
        "presentation_id": world.presentation.pk,
        "message_id": world.message.pk,
        "implementation_code": world.item_code,
        "code": world.item_code,
        "identifier": world.license.identifier,
        "department_id": world.case.department_id,
        "number": 1,
        "fmt": "xlsx",
        "action": "accept",
    }


def test_probe(world):
    clients = {role: matrix.client_for(world.actor(role) if role != "anonymous" else None) for role in ROLES}
    for client in clients.values():
        client.raise_request_exception = False  # a 5xx is an outcome to print, not the end of the probe
    out = {}
    for endpoint in matrix.endpoints():
        if endpoint.key.startswith("admin:") and os.environ.get("YIWANG_PROBE_MATRIX") != "admin":
            continue
        values = parameters(world)
        if endpoint.key.startswith("admin:"):
            values = {**values, **matrix.admin_object_values(endpoint.key)}
        try:
            path = matrix.fill(endpoint.route, values)
        except KeyError as exc:
            out[endpoint.key] = str(exc)
            continue
        methods = endpoint.methods or ("GET", "POST")
        row = {}
        for method in methods:
            got = {}
            for role in ROLES:
                if endpoint.is_api:
                    response = matrix.ask(clients["anonymous"], method, path, headers=world.bearer(role))
                else:
                    response = matrix.ask(clients[role], method, path)
                got[role] = matrix.classify(response, is_api=endpoint.is_api)
            row[method] = got
        out[endpoint.key] = {"path": path, **row}
    print(json.dumps(out, ensure_ascii=False, indent=1))
