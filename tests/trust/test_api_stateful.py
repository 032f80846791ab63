"""Stateful API fuzzing: sequences of calls where each step uses what an earlier one answered
(create → read → act): a case or hotline ticket created, then read, dispatched, answered; an
oversight task, its reports and their review; a document, its submission and routing …

The links between operations are not written by hand: schemathesis infers them from the served
OpenAPI document (a response field or a path parameter named like another operation's, e.g.
``POST /api/v1/hotline/tickets`` → ``id`` → ``/api/v1/hotline/tickets/{ticket_id}/accept``), so a new
operation joins the sequences by its names. ``test_links_are_inferred`` fails if the inference stops
finding the chains named in ``CHAINS``.

Each actor of ``world.ACTORS`` drives its own scenarios in the demo city (rolled back after the
test), with the checks of the stateless fuzzer. Bounded in ``make test``
(``YIWANG_FUZZ_STATEFUL_EXAMPLES`` scenarios of up to ``YIWANG_FUZZ_STATEFUL_STEPS`` calls per actor);
``make fuzz`` runs many more. Derandomized like the stateless run.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.trust.test_api_fuzz import CHECKS, real_ids, schema  # noqa: F401 (real_ids: a fixture)
from tests.trust.world import ROLES, World

SCENARIOS = int(os.environ.get("YIWANG_FUZZ_STATEFUL_EXAMPLES", "3"))
STEPS = int(os.environ.get("YIWANG_FUZZ_STATEFUL_STEPS", "6"))

# Chains the API has (producer → consumer): if inference loses one of these, the stateful run
# silently stops reaching that workflow, so the test below says so.
CHAINS = {
    "POST /api/v1/hotline/tickets": "POST /api/v1/hotline/tickets/{ticket_id}/accept",
    "POST /api/v1/oversight/tasks": "POST /api/v1/oversight/tasks/{task_id}/reports",
    "POST /api/v1/documents/": "POST /api/v1/documents/{document_id}/submit",
    "POST /api/v1/appointments/bookings": "POST /api/v1/appointments/bookings/{number}/cancel",
    "POST /api/v1/exchange/requests": "POST /api/v1/exchange/requests/{request_id}/approve",
}

_MACHINE = None


def machine():
    global _MACHINE
    if _MACHINE is None:
        _MACHINE = schema.as_state_machine()
    return _MACHINE


def test_links_are_inferred():
    transitions = machine()._transitions.operations
    found = {
        (link.source.label, label)
        for label, operation in transitions.items()
        for link in operation.incoming
        if link.source is not None
    }
    missing = [f"{source} → {target}" for source, target in CHAINS.items() if (source, target) not in found]
    assert not missing, "no stateful link inferred for: " + ", ".join(missing)


@pytest.mark.usefixtures("real_ids")
@pytest.mark.parametrize("role", ROLES)
def test_api_stateful(role, world: World):
    headers = world.bearer(role)

    class Workflow(machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
