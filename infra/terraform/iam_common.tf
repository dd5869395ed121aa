# Statements several roles share. Each role's policy is assembled in its own iam_<role>.tf from
# these and its own statements. Policies are plain jsonencode() documents (not
# aws_iam_policy_document data sources) so that `terraform test` with a mocked provider can read
# them back and check them.

locals {
  lambda_assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })

  # What every function needs: its own log group, traces, the key through its services, and
  # the rule that makes the audit log append-only.
  lambda_baseline = {
    for fn in keys(local.functions) : fn => [
      {
        Sid      = "WriteOwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name}-${fn}:*"
      },
      {
        # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*"
      },
      local.kms_via_services,
      local.audit_log_append_only,
    ]
  }

  # The audit log's events (pk = "AUDIT#LOG"), its per-incident index, its signed head and the
  # findings of its writers are never changed in place or removed, by any role, whatever else
  # it is allowed (the head is replaced by PutItem on every append; the digest outbox,
  # AUDIT#DIGEST, is marked uploaded with UpdateItem, so it is not listed). LeadingKeys is multivalued, hence ForAnyValue (which
  # is false when the key is absent, so a Deny never fires on calls without keys).
  audit_log_append_only = {
    Sid    = "AuditLogIsAppendOnly"
    Effect = "Deny"
    Action = [
      "dynamodb:DeleteItem",
      "dynamodb:UpdateItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:PartiQLDelete",
      "dynamodb:PartiQLUpdate",
    ]
    Resource = local.arns.store_table
    Condition = {
      "ForAnyValue:StringLike" = {
        "dynamodb:LeadingKeys" = ["AUDIT#LOG", "AUDIT#HEAD", "AUDIT#FINDING", "AUDIT#INCIDENT#*"]
      }
    }
  }

  store_access = [
    {
      Sid    = "StoreTable"
      Effect = "Allow"
      Action = [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
      ]
      Resource = [local.arns.store_table, "${local.arns.store_table}/index/*"]
    },
    {
      Sid      = "IdempotencyTable"
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      Resource = local.arns.idempotency_table
    },
  ]

  # Digests are written once (If-None-Match) under Object Lock retention, which the writer sets
  # (s3:PutObjectRetention); no role may delete them or bypass the retention.
  digest_access = [
    {
      Sid      = "ListDigests"
      Effect   = "Allow"
      Action   = "s3:ListBucket"
      Resource = local.arns.digest_bucket
      Condition = {
        StringLike = { "s3:prefix" = ["${local.digest_prefix}*"] }
      }
    },
    {
      Sid      = "ReadWriteDigests"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention"]
      Resource = "${local.arns.digest_bucket}/${local.digest_prefix}*"
    },
  ]

  read_audit_key = {
    Sid      = "ReadAuditKey"
    Effect   = "Allow"
    Action   = "secretsmanager:GetSecretValue"
    Resource = aws_secretsmanager_secret.audit_key.arn
  }

  read_audit_key_and_slack = {
    Sid      = "ReadAuditKeyAndSlackSecrets"
    Effect   = "Allow"
    Action   = "secretsmanager:GetSecretValue"
    Resource = [aws_secretsmanager_secret.audit_key.arn, aws_secretsmanager_secret.slack.arn]
  }

  # What the workflow steps read of the world (analyse, and remediate before and after acting).
  # Deliberately no ec2:Describe*: DescribeInstanceAttribute and DescribeLaunchTemplateVersions
  # return user data, which often holds secrets, and a prompt-injected agent must not read them.
  world_read = [
    {
      Sid      = "ReadAlarms"
      Effect   = "Allow"
      Action   = ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"]
      Resource = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"
    },
    {
      # Metric reads have no resource-level permissions.
      Sid      = "ReadMetrics"
      Effect   = "Allow"
      Action   = ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarmsForMetric"]
      Resource = "*"
    },
    {
      Sid      = "ReadLogs"
      Effect   = "Allow"
      Action   = ["logs:StartQuery", "logs:GetQueryResults", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams"]
      Resource = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
    },
    {
      # Listing log groups and stopping a query (by its id) have no resource-level permissions.
      Sid      = "ListLogGroupsStopQueries"
      Effect   = "Allow"
      Action   = ["logs:DescribeLogGroups", "logs:StopQuery"]
      Resource = "*"
    },
    {
      # EC2, Auto Scaling, ELB and SSM describe calls have no resource-level permissions.
      Sid    = "DescribeFleet"
      Effect = "Allow"
      Action = [
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeImages",
        "autoscaling:Describe*",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "ssm:DescribeInstanceInformation",
        "ssm:ListCommands",
        "ssm:ListCommandInvocations",
        "ssm:GetCommandInvocation",
      ]
      Resource = "*"
    },
    {
      # The guardrail binds an approval to the document's current hash.
      Sid    = "ReadCatalogDocuments"
      Effect = "Allow"
      Action = ["ssm:DescribeDocument", "ssm:GetDocument"]
      Resource = concat(
        [for name in keys(local.ssm_documents) : "arn:${local.partition}:ssm:${local.region}:${local.account_id}:document/${name}"],
        [for name in local.automation_documents : "arn:${local.partition}:ssm:${local.region}::document/${name}"],
      )
    },
  ]
}

locals {
  # Every function role's statements by function (what tests/iam.tftest.hcl checks).
  function_role_statements = {
    ingest    = local.ingest_statements
    analyse   = local.analyse_statements
    remediate = local.remediate_statements
    approval  = local.approval_statements
    slack     = local.slack_statements
    sweeper   = local.sweeper_statements
  }
}
