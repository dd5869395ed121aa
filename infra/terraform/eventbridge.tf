################################################################################
# Alarm → ingest
################################################################################

locals {
  # Only the transition into ALARM opens an incident; OK and INSUFFICIENT_DATA never reach the
  # healer. Empty filter lists add no condition, except that the healer's own alarms
  # (monitoring.tf, all named "<name>-…") never reach it: it must not act on itself.
  alarm_event_pattern = merge(
    {
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      detail = merge(
        { state = { value = ["ALARM"] } },
        {
          alarmName = {
            prefixes = [for p in var.alarm_name_prefixes : { prefix = p }]
            not_own  = [{ "anything-but" = { prefix = "${var.name}-" } }]
          }[length(var.alarm_name_prefixes) > 0 ? "prefixes" : "not_own"]
        },
      )
    },
    length(var.alarm_account_ids) > 0 ? { account = var.alarm_account_ids } : {},
    length(var.alarm_regions) > 0 ? { region = var.alarm_regions } : {},
  )
}

resource "aws_cloudwatch_event_rule" "alarm" {
  name          = "${var.name}-alarm-to-incident"
  description   = "CloudWatch alarm state changes into ALARM open (or join) an incident"
  event_pattern = jsonencode(local.alarm_event_pattern)
}

resource "aws_cloudwatch_event_target" "ingest" {
  rule      = aws_cloudwatch_event_rule.alarm.name
  target_id = "ingest"
  arn       = aws_lambda_function.this["ingest"].arn

  # EventBridge retries a failed delivery with backoff for up to an hour, then dead-letters it:
  # an alarm that stays in ALARM emits no second event, so a lost one is a missed incident.
  retry_policy {
    maximum_retry_attempts       = 20
    maximum_event_age_in_seconds = 3600
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

resource "aws_lambda_permission" "ingest_from_rule" {
  statement_id  = "AlarmRuleInvokesIngest"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["ingest"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.alarm.arn
}

################################################################################
# Schedule → sweeper
################################################################################

resource "aws_cloudwatch_event_rule" "sweeper" {
  name                = "${var.name}-sweeper"
  description         = "Expires approvals past their TTL, restarts stuck incidents, publishes ApprovalsWaiting"
  schedule_expression = var.sweeper_schedule
}

resource "aws_cloudwatch_event_target" "sweeper" {
  rule      = aws_cloudwatch_event_rule.sweeper.name
  target_id = "sweeper"
  arn       = aws_lambda_function.this["sweeper"].arn

  # A missed sweep is made up by the next one: no retries, no backlog.
  retry_policy {
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 60
  }
}

resource "aws_lambda_permission" "sweeper_from_schedule" {
  statement_id  = "ScheduleInvokesSweeper"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["sweeper"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweeper.arn
}
