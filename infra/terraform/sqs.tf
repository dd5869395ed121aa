# Dead-letter queues: an alarm that EventBridge could not deliver, or an asynchronous invocation
# that failed every retry, waits here for 14 days (an alarm on each says so at once) instead of
# vanishing.

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-alarm-events-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn

  # Inline, not an aws_sqs_queue_policy: one wait for the queue's attributes to settle, not two.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AlarmRuleDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name}-alarm-events-dlq"
        Condition = {
          ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.alarm.arn }
        }
      },
    ]
  })
}

# Lambda writes failed asynchronous invocations (ingest, slack's lazy listener, sweeper) with
# the function's own role.
resource "aws_sqs_queue" "lambda_dlq" {
  name                      = "${var.name}-lambda-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
}

locals {
  dead_letter_queues = {
    alarm_events = aws_sqs_queue.events_dlq.name
    lambda       = aws_sqs_queue.lambda_dlq.name
  }
}
