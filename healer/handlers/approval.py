"""Lambda: a human's decision on a pending approval (from Slack, or an operator's invoke)
resumes the workflow waiting for it. A repeated or late decision is refused and audited by
the approval rules themselves (single use), so no idempotency layer hides it.

Invoked directly, the function trusts the `user` it is given: only IAM decides who may invoke
it (the Slack function, and the operators a deployment names). Humans decide through Slack,
whose requests are signed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from healer.handlers.runtime import logger, resume_workflow, runtime, tracer
from healer.workflow.decisions import DecisionRequest, DecisionResult, decide


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = DecisionRequest.model_validate(event)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "event"
        return DecisionResult(ok=False, message=f"{where}: {problem['msg']}").model_dump()
    return decide(runtime.services(), request, resume_workflow).model_dump()
