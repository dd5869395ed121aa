"""The local runner: runs an incident's steps in order, persisting it after each one.

A run stops while it waits for a human: an approval (`healer approve` / `healer reject` resume
it, even after a restart) or, in shadow mode, the human's own fix. A crash mid-step resumes at
that step; side effects are not repeated (the executor's ledger records each intent first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from healer.domain import Incident, Step
from healer.errors import ActionRejected
from healer.workflow import steps
from healer.workflow.approvals import settle
from healer.workflow.services import Services

log = logging.getLogger(__name__)

STEPS: dict[Step, Callable[[Services, Incident], Incident]] = {
    Step.INVESTIGATE: steps.investigate,
    Step.GOVERN: steps.govern,
    Step.REMEDIATE: steps.remediate,
    Step.VERIFY: steps.verify,
    Step.CLOSE: steps.close,
}

StepListener = Callable[[Incident, Step], None]


def run_incident(
    services: Services, incident_id: str, on_step: StepListener | None = None
) -> Incident:
    """Run until the incident is done or waits for a human."""
    incident = services.store.get(incident_id)
    if incident is None:
        raise ActionRejected(f"no incident {incident_id}")
    while True:
        if incident.step == Step.AWAIT_APPROVAL and not settle(services, incident):
            return incident
        if incident.step in (Step.DONE, Step.AWAIT_FIX):
            return incident
        step = incident.step
        if on_step:
            on_step(incident, step)
        log.info("incident_id=<%s>, step=<%s> | running", incident.id, step)
        incident = STEPS[step](services, incident)
        services.store.save(incident)
        services.announce(services, incident)
