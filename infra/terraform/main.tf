provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ "healer:component" = var.name }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The deployer's role (not its STS session) gets data access to the vector collection.
data "aws_iam_session_context" "current" {
  arn = data.aws_caller_identity.current.arn
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.region

  lambda_package = coalesce(var.lambda_package, "${path.module}/../../build/lambda/healer-lambda.zip")

  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.this[0].arn

  # Names are fixed so that the IAM policies can name each resource exactly (and so that a test
  # can check them) without waiting for the resource.
  names = {
    store_table       = "${var.name}-store"
    idempotency_table = "${var.name}-idempotency"
    state_machine     = "${var.name}-workflow"
    runbooks_bucket   = "${var.name}-runbooks-${local.account_id}-${local.region}"
    digest_bucket     = "${var.name}-digests-${local.account_id}-${local.region}"
    artifacts_bucket  = "${var.name}-artifacts-${local.account_id}-${local.region}"
    collection        = "${var.name}-kb"
  }

  arns = {
    store_table       = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.names.store_table}"
    idempotency_table = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.names.idempotency_table}"
    state_machine     = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.names.state_machine}"
    # Executions of this state machine (DescribeExecution, StopExecution).
    executions      = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.names.state_machine}:*"
    runbooks_bucket = "arn:${local.partition}:s3:::${local.names.runbooks_bucket}"
    digest_bucket   = "arn:${local.partition}:s3:::${local.names.digest_bucket}"
    functions = {
      for key in keys(local.functions) :
      key => "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}-${key}"
    }
  }

  digest_prefix = "audit-digests/"

  # The catalog's SSM Command documents, one per runbooks/ssm/<Name>.yaml; the catalog names
  # them literally, so the names carry no prefix.
  ssm_documents = {
    for file in fileset("${path.module}/../../runbooks/ssm", "*.yaml") :
    trimsuffix(file, ".yaml") => "${path.module}/../../runbooks/ssm/${file}"
  }

  # The AWS-owned Automation runbooks the catalog runs (restart_instance, resize_instance).
  automation_documents = ["AWS-RestartEC2Instance", "AWS-ResizeInstance"]

  # What a Lambda function is: its handler, its role and how long it may run.
  functions = {
    ingest = {
      handler     = "healer.handlers.ingest.handler"
      description = "Alarm state change (EventBridge) to an incident and a workflow execution"
      role_arn    = aws_iam_role.ingest.arn
      timeout     = 60
      memory_size = 512
      async       = true
    }
    analyse = {
      handler     = "healer.handlers.steps.handler"
      description = "Workflow steps that only read the world: investigate, govern, await_approval, expire, verify, close, fail"
      role_arn    = aws_iam_role.analyse.arn
      # An agent's investigation is several model turns and tool calls.
      timeout     = 600
      memory_size = 1024
      async       = false
    }
    remediate = {
      handler     = "healer.handlers.steps.handler"
      description = "The remediate step: the only function allowed to change the world"
      role_arn    = aws_iam_role.remediate.arn
      # Waits for the SSM command or automation it started.
      timeout     = 900
      memory_size = 512
      async       = false
    }
    approval = {
      handler     = "healer.handlers.approval.handler"
      description = "Approval callback: approve or reject a pending action"
      role_arn    = aws_iam_role.approval.arn
      timeout     = 30
      memory_size = 512
      async       = false
    }
    slack = {
      handler     = "healer.handlers.slack.handler"
      description = "Slack interactivity endpoint (function URL); verifies Slack's request signature"
      role_arn    = aws_iam_role.slack.arn
      # Bolt acks within 3 s; the lazy listener, a second invocation, does the work.
      timeout     = 60
      memory_size = 512
      async       = true
    }
    sweeper = {
      handler     = "healer.handlers.sweeper.handler"
      description = "Scheduled: expires approvals, restarts stuck incidents, publishes ApprovalsWaiting"
      role_arn    = aws_iam_role.sweeper.arn
      timeout     = 120
      memory_size = 512
      async       = true
    }
  }

  # Settings every function reads (pydantic-settings, prefix HEALER_).
  common_environment = merge(
    {
      HEALER_STORE_BACKEND            = "dynamodb"
      HEALER_STORE_TABLE              = aws_dynamodb_table.store.name
      HEALER_IDEMPOTENCY_TABLE        = aws_dynamodb_table.idempotency.name
      HEALER_AUDIT_DIGEST_BUCKET      = module.digest_bucket.id
      HEALER_AUDIT_DIGEST_PREFIX      = local.digest_prefix
      HEALER_AUDIT_DIGEST_RETAIN_DAYS = tostring(var.digest_retention_days)
      HEALER_AUDIT_KEY_SECRET_ARN     = aws_secretsmanager_secret.audit_key.arn
      HEALER_SLACK_SECRET_ARN         = aws_secretsmanager_secret.slack.arn
      HEALER_SLACK_CHANNEL            = var.slack_channel
      HEALER_APPROVERS                = jsonencode(var.approvers)
      HEALER_MODEL                    = "bedrock:${var.bedrock_model_id}"
      HEALER_REGION                   = local.region
      HEALER_APPROVAL_TTL_MINUTES     = tostring(var.approval_ttl_minutes)
      HEALER_VERIFY_POLL_SECONDS      = tostring(var.verify_poll_seconds)
      POWERTOOLS_SERVICE_NAME         = "incident-healer"
      POWERTOOLS_METRICS_NAMESPACE    = local.metrics_namespace
      POWERTOOLS_LOG_LEVEL            = var.log_level
    },
    var.enable_knowledge_base ? { HEALER_KB_ID = aws_bedrockagent_knowledge_base.this[0].id } : {},
  )

  # The state machine's own tasks (analyse, remediate) do not get its ARN: it is made from their
  # ARNs, and they never start or signal an execution.
  state_machine_clients = ["ingest", "approval", "slack", "sweeper"]

  metrics_namespace = "IncidentHealer"
}
