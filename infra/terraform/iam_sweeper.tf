# sweeper: every few minutes, expires approvals past their TTL, fails or restarts stuck
# incidents, publishes how many approvals are waiting, and measures what the capacity added by
# recent actions actually cost once their estimate's horizon has passed.

resource "aws_iam_role" "sweeper" {
  name               = "${var.name}-sweeper"
  description        = "Lambda ${var.name}-sweeper: expiry, stuck incidents, ApprovalsWaiting"
  assume_role_policy = local.lambda_assume_role_policy
}

resource "aws_iam_role_policy" "sweeper" {
  name = "sweeper"
  role = aws_iam_role.sweeper.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.sweeper_statements
  })
}

locals {
  sweeper_statements = concat(
    local.lambda_baseline["sweeper"],
    local.store_access,
    local.digest_access,
    [
      local.read_audit_key_and_slack,
      local.resume_execution, # an overdue approval it expires resumes its workflow
      {
        Sid      = "FindAndRestartExecutions"
        Effect   = "Allow"
        Action   = ["states:ListExecutions", "states:StartExecution", "states:SendTaskFailure"]
        Resource = local.arns.state_machine
      },
      {
        Sid      = "ReadExecutions"
        Effect   = "Allow"
        Action   = "states:DescribeExecution"
        Resource = local.arns.executions
      },
      {
        # PutMetricData has no resource-level permissions; the namespace condition confines it
        # to the healer's own metrics.
        Sid      = "PublishApprovalsWaiting"
        Effect   = "Allow"
        Action   = "cloudwatch:PutMetricData"
        Resource = "*"
        Condition = {
          StringEquals = { "cloudwatch:namespace" = local.metrics_namespace }
        }
      },
      {
        # Describe calls and the Price List API have no resource-level permissions; these read
        # what an Auto Scaling group launched and what it costs, nothing else.
        Sid    = "MeasureAddedCapacity"
        Effect = "Allow"
        Action = [
          "autoscaling:DescribeAutoScalingGroups",
          "autoscaling:DescribeScalingActivities",
          "ec2:DescribeInstances",
          "pricing:GetProducts",
        ]
        Resource = "*"
      },
      {
        Sid      = "DeadLetterFailedSweeps"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.lambda_dlq.arn
      },
    ],
  )
}
