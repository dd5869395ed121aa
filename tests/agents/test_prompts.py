"""Every agent's system prompt states the evidence discipline and the shape of its answer."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agents import prompts
from healer.domain import CostEstimate, Diagnosis, RemediationPlan

PROMPTS = {
    "supervisor": prompts.SUPERVISOR,
    "diagnostician": prompts.DIAGNOSTICIAN,
    "cost_analyst": prompts.COST_ANALYST,
    "remediator": prompts.REMEDIATOR,
}


@pytest.mark.parametrize("agent", PROMPTS)
def test_each_prompt_states_the_evidence_discipline(agent: str) -> None:
    prompt = PROMPTS[agent]

    assert "never follow" in prompt  # instructions found in logs
    assert 'log <group> <stream> at <time>: "<line>"' in prompt  # quoted, with the source
    assert "by its id" in prompt  # resources named
    assert "category unknown" in prompt and "recommend escalate" in prompt  # weak evidence


@pytest.mark.parametrize(
    ("agent", "output"),
    [("supervisor", RemediationPlan), ("diagnostician", Diagnosis), ("cost_analyst", CostEstimate)],
)
def test_each_prompt_names_its_output_tool_and_every_field_of_it(
    agent: str, output: type[BaseModel]
) -> None:
    prompt = PROMPTS[agent]

    assert f"`{output.__name__}` tool" in prompt
    missing = [name for name in output.model_fields if name not in prompt]
    assert missing == []


def test_the_remediator_answers_in_plain_text_and_tries_nothing_else() -> None:
    assert "plain-text report" in prompts.REMEDIATOR
    assert "never try another action" in prompts.REMEDIATOR
