# Six functions from one package: each its own role, log group, concurrency and timeout.

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.encrypt_logs ? local.kms_key_arn : null
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs and Slack; a VPC would add NAT gateways and endpoints and protect nothing they hold.
  #checkov:skip=CKV_AWS_272:The package is built by `make package` from locked dependencies; there is no signing profile to check it against.
  #checkov:skip=CKV_AWS_116:Only asynchronously invoked functions need a DLQ and have one (ingest, slack, sweeper); analyse and remediate are retried and caught by the state machine, approval is invoked synchronously.
  for_each = local.functions

  function_name = "${var.name}-${each.key}"
  description   = each.value.description
  role          = each.value.role_arn
  handler       = each.value.handler
  runtime       = "python3.11"
  architectures = [var.lambda_architecture]
  timeout       = each.value.timeout
  memory_size   = each.value.memory_size

  s3_bucket         = aws_s3_object.lambda_package.bucket
  s3_key            = aws_s3_object.lambda_package.key
  s3_object_version = aws_s3_object.lambda_package.version_id
  # The zip need not exist for validate, plan or the offline tests.
  source_code_hash = try(filebase64sha256(local.lambda_package), null)

  reserved_concurrent_executions = var.reserved_concurrency[each.key]

  kms_key_arn = local.kms_key_arn

  # The state machine's ARN is built from its name: the state machine is made from these
  # functions' ARNs, so referring to the resource would be a cycle.
  environment {
    variables = merge(
      local.common_environment,
      contains(local.state_machine_clients, each.key) ? { HEALER_STATE_MACHINE_ARN = local.arns.state_machine } : {},
    )
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "dead_letter_config" {
    for_each = each.value.async ? [aws_sqs_queue.lambda_dlq.arn] : []
    content {
      target_arn = dead_letter_config.value
    }
  }

  depends_on = [aws_cloudwatch_log_group.function]
}

# Asynchronous invocations: a failure is retried twice, then dead-lettered; a stale event
# (an alarm long since handled, an expired Slack interaction) is dropped to the DLQ too.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = { for key, fn in local.functions : key => fn if fn.async }

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = each.key == "ingest" ? 3600 : 300
}

################################################################################
# Slack's endpoint
################################################################################

# Auth model: Slack cannot sign requests with SigV4, so the URL is public (authorization NONE).
# The function itself authenticates every request: it recomputes Slack's HMAC-SHA256 request
# signature (v0=…, over "v0:<timestamp>:<body>" with the signing secret from Secrets Manager),
# compares it in constant time, and refuses a timestamp more than 5 minutes old (replay).
# Reserved concurrency caps what unauthenticated traffic can cost.
resource "aws_lambda_function_url" "slack" {
  #checkov:skip=CKV_AWS_258:Slack cannot sign with SigV4; the function verifies Slack's HMAC request signature and timestamp itself (auth model above).
  function_name      = aws_lambda_function.this["slack"].function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "slack_url" {
  #checkov:skip=CKV_AWS_301:The Slack endpoint must be reachable by Slack; the function verifies Slack's request signature itself (see the auth model above).
  statement_id           = "SlackInvokesTheFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this["slack"].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# Since October 2025 a new function URL also needs lambda:InvokeFunction, granted only for calls
# through the URL (condition lambda:InvokedViaFunctionUrl). The AWS provider 5.x cannot express
# that condition, and an unconditional public InvokeFunction would let anyone invoke the
# function directly, so the statement is added with boto3.
resource "terraform_data" "slack_url_invoke_permission" {
  count = var.grant_function_url_invoke ? 1 : 0

  triggers_replace = [aws_lambda_function.this["slack"].arn]

  provisioner "local-exec" {
    command = "${var.python_executable} ${path.module}/scripts/grant_function_url_invoke.py --function ${aws_lambda_function.this["slack"].function_name} --region ${local.region}"
  }
}
