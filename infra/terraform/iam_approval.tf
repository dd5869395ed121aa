# approval: the callback an operator (or the Slack function) invokes to approve or reject a
# pending action; it resumes the waiting execution with the stored task token.

resource "aws_iam_role" "approval" {
  name               = "${var.name}-approval"
  description        = "Lambda ${var.name}-approval: approve or reject, resume the execution"
  assume_role_policy = local.lambda_assume_role_policy
}

resource "aws_iam_role_policy" "approval" {
  name = "approval"
  role = aws_iam_role.approval.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.approval_statements
  })
}

locals {
  # Task-token calls are authorized on the state machine whose execution issued the token.
  resume_execution = {
    Sid      = "ResumeTheWaitingExecution"
    Effect   = "Allow"
    Action   = ["states:SendTaskSuccess", "states:SendTaskFailure"]
    Resource = local.arns.state_machine
  }

  approval_statements = concat(
    local.lambda_baseline["approval"],
    local.store_access,
    local.digest_access,
    [
      local.read_audit_key_and_slack,
      local.resume_execution,
    ],
  )
}
