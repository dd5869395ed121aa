# The workflow: one Standard execution per incident (its name is the dedup key, so a redelivered
# alarm cannot start a second one), tasks on the analyse and remediate functions, the approval as
# a .waitForTaskToken task whose timeout is the approval TTL.

resource "aws_cloudwatch_log_group" "state_machine" {
  # /aws/vendedlogs/ keeps the CloudWatch Logs resource policy Step Functions writes small.
  name              = "/aws/vendedlogs/states/${local.names.state_machine}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.encrypt_logs ? local.kms_key_arn : null
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:Execution data (states' input and output) is off by default because incident data may be sensitive; var.sfn_include_execution_data turns it on.
  name     = local.names.state_machine
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn

  definition = templatefile("${path.module}/../statemachine/healer.asl.json", {
    analyse_function_arn   = aws_lambda_function.this["analyse"].arn
    remediate_function_arn = aws_lambda_function.this["remediate"].arn
    approval_ttl_seconds   = var.approval_ttl_minutes * 60
    verify_poll_seconds    = var.verify_poll_seconds
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    level                  = var.sfn_log_level
    include_execution_data = var.sfn_include_execution_data
  }

  tracing_configuration {
    enabled = true
  }

  # Logging is checked when the state machine is created: the role must already allow it.
  depends_on = [aws_iam_role_policy.state_machine]
}
