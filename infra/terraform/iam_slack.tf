# slack: the Slack app behind the function URL (buttons, /healer, mentions, DMs). It acks within
# 3 seconds and does the work in a lazy listener, which is this function invoking itself. A
# re-investigation asked for in chat starts a workflow execution (which then needs approval).

resource "aws_iam_role" "slack" {
  name               = "${var.name}-slack"
  description        = "Lambda ${var.name}-slack: Slack interactivity, approvals from buttons"
  assume_role_policy = local.lambda_assume_role_policy
}

resource "aws_iam_role_policy" "slack" {
  name = "slack"
  role = aws_iam_role.slack.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.slack_statements
  })
}

locals {
  slack_statements = concat(
    local.lambda_baseline["slack"],
    local.store_access,
    local.digest_access,
    [
      local.read_audit_key_and_slack,
      local.resume_execution,
      {
        Sid      = "StartChatRequestedInvestigations"
        Effect   = "Allow"
        Action   = "states:StartExecution"
        Resource = local.arns.state_machine
      },
      {
        Sid      = "LazyListenerAndApprovalCallback"
        Effect   = "Allow"
        Action   = "lambda:InvokeFunction"
        Resource = [local.arns.functions["slack"], local.arns.functions["approval"]]
      },
      {
        Sid      = "DeadLetterFailedLazyListeners"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.lambda_dlq.arn
      },
    ],
  )
}
