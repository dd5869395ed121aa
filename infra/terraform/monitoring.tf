# Alarms on the healer itself, to an encrypted topic. Every alarm is named "<name>-…", which the
# alarm rule excludes (eventbridge.tf): the healer never acts on its own alarms.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = local.kms_key_arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]

  # Alarms wait this long with an approval still pending before they call it stuck: the TTL and
  # one sweep more (CloudWatch evaluates at most a day).
  approvals_waiting_periods = min(ceil(var.approval_ttl_minutes / 5) + 1, 288)
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = local.dead_letter_queues

  alarm_name          = "${var.name}-dlq-${replace(each.key, "_", "-")}"
  alarm_description   = "Messages in ${each.value}: an alarm event or an asynchronous invocation was lost after every retry. Inspect, then redrive or purge."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "executions" {
  for_each = {
    failed    = "ExecutionsFailed"
    timed-out = "ExecutionsTimedOut"
  }

  alarm_name          = "${var.name}-executions-${each.key}"
  alarm_description   = "A workflow execution ${replace(each.key, "-", " ")}: an incident may have been left unfinished."
  namespace           = "AWS/States"
  metric_name         = each.value
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${var.name}-errors-${each.key}"
  alarm_description   = "${var.name}-${each.key} raised an error (see its log group)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Published by the sweeper (Powertools Metrics: namespace IncidentHealer, dimension service).
# Waiting longer than the TTL means expiry itself is failing.
resource "aws_cloudwatch_metric_alarm" "approvals_waiting" {
  alarm_name          = "${var.name}-approvals-waiting"
  alarm_description   = "Approvals have waited longer than the approval TTL (${var.approval_ttl_minutes} min): the sweeper is not expiring them."
  namespace           = local.metrics_namespace
  metric_name         = "ApprovalsWaiting"
  dimensions          = { service = "incident-healer" }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = local.approvals_waiting_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title   = "Workflow executions"
          region  = local.region
          stat    = "Sum"
          period  = 300
          metrics = [for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] : ["AWS/States", m, "StateMachineArn", aws_sfn_state_machine.this.arn]]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title   = "Approvals waiting"
          region  = local.region
          stat    = "Maximum"
          period  = 300
          metrics = [[local.metrics_namespace, "ApprovalsWaiting", "service", "incident-healer"]]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 12
        height = 6
        properties = {
          title   = "Function errors"
          region  = local.region
          stat    = "Sum"
          period  = 300
          metrics = [for key in keys(local.functions) : ["AWS/Lambda", "Errors", "FunctionName", "${var.name}-${key}"]]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 6
        width  = 12
        height = 6
        properties = {
          title   = "Dead-letter queues"
          region  = local.region
          stat    = "Maximum"
          period  = 300
          metrics = [for queue in values(local.dead_letter_queues) : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue]]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 12
        width  = 24
        height = 6
        properties = {
          title   = "Function duration (p95)"
          region  = local.region
          stat    = "p95"
          period  = 300
          metrics = [for key in keys(local.functions) : ["AWS/Lambda", "Duration", "FunctionName", "${var.name}-${key}"]]
        }
      },
    ]
  })
}
