"""The sandbox AWS account: a moto server on loopback seeded from a replay case."""

from healer.sandbox.alarm_events import alarm_arn, aws_timestamp, build_alarm_event
from healer.sandbox.automation import AutomationExecution, SandboxAutomation
from healer.sandbox.effects import matching_effects
from healer.sandbox.instance_ids import steered_instance_ids
from healer.sandbox.sandbox import SSM_DOCUMENTS_DIR, Sandbox
from healer.sandbox.seed_compute import launch_template_name
from healer.sandbox.seed_telemetry import CHANGES_LOG_GROUP, CHANGES_LOG_STREAM
from healer.sandbox.server import LoopbackMotoServer
from healer.sandbox.world_record import WorldCall, is_mutating

__all__ = [
    "CHANGES_LOG_GROUP",
    "CHANGES_LOG_STREAM",
    "SSM_DOCUMENTS_DIR",
    "AutomationExecution",
    "LoopbackMotoServer",
    "Sandbox",
    "SandboxAutomation",
    "WorldCall",
    "alarm_arn",
    "aws_timestamp",
    "build_alarm_event",
    "is_mutating",
    "launch_template_name",
    "matching_effects",
    "steered_instance_ids",
]
