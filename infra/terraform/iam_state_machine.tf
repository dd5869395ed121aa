# The state machine's role: invoke exactly the two task functions, write its logs and traces.

resource "aws_iam_role" "state_machine" {
  name        = "${var.name}-workflow"
  description = "Step Functions ${local.names.state_machine}: invokes analyse and remediate"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "states.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.arns.state_machine }
        }
      },
    ]
  })
}

resource "aws_iam_role_policy" "state_machine" {
  name = "workflow"
  role = aws_iam_role.state_machine.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.state_machine_statements
  })
}

locals {
  state_machine_statements = [
    {
      Sid    = "InvokeTheTaskFunctions"
      Effect = "Allow"
      Action = "lambda:InvokeFunction"
      Resource = flatten([
        for fn in ["analyse", "remediate"] : [local.arns.functions[fn], "${local.arns.functions[fn]}:*"]
      ])
    },
    {
      # Log delivery for Step Functions is configured through these account-level calls, which
      # have no resource-level permissions.
      Sid    = "DeliverExecutionLogs"
      Effect = "Allow"
      Action = [
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
      ]
      Resource = "*"
    },
    {
      # X-Ray has no resource-level permissions.
      Sid      = "WriteTraces"
      Effect   = "Allow"
      Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
      Resource = "*"
    },
  ]
}
