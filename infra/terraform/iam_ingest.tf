# ingest: an alarm event becomes an incident (or joins one) and starts its workflow execution.

resource "aws_iam_role" "ingest" {
  name               = "${var.name}-ingest"
  description        = "Lambda ${var.name}-ingest: alarm event to incident and execution"
  assume_role_policy = local.lambda_assume_role_policy
}

resource "aws_iam_role_policy" "ingest" {
  name = "ingest"
  role = aws_iam_role.ingest.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.ingest_statements
  })
}

locals {
  ingest_statements = concat(
    local.lambda_baseline["ingest"],
    local.store_access,
    local.digest_access,
    [
      local.read_audit_key,
      {
        Sid      = "ReadTheAlarm"
        Effect   = "Allow"
        Action   = "cloudwatch:DescribeAlarms"
        Resource = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"
      },
      {
        # Describe calls of Auto Scaling have no resource-level permissions.
        Sid      = "FindTheInstancesGroup"
        Effect   = "Allow"
        Action   = "autoscaling:DescribeAutoScalingInstances"
        Resource = "*"
      },
      {
        Sid      = "StartTheIncidentsExecution"
        Effect   = "Allow"
        Action   = "states:StartExecution"
        Resource = local.arns.state_machine
      },
      {
        Sid      = "DeadLetterFailedEvents"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.lambda_dlq.arn
      },
    ],
  )
}
