"""Incident Healer: heals AWS incidents with agents, a hard-coded guardrail and an audit trail."""
