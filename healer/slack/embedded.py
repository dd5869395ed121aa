"""The Slack app on the embedded runtime: decisions and chat-initiated investigations run the
local runner in this process."""

from __future__ import annotations

from dataclasses import dataclass

from healer.domain import Incident
from healer.workflow.runner import run_incident
from healer.workflow.services import Services


@dataclass
class EmbeddedHealer:
    """Drives incidents with the local runner on one `Services` (a sandbox, or an account)."""

    bound: Services

    def services(self) -> Services:
        return self.bound

    def resume(self, services: Services, incident: Incident) -> bool:
        run_incident(services, incident.id)
        return True

    def start(self, services: Services, incident: Incident) -> None:
        run_incident(services, incident.id)
