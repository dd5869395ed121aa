# One customer-managed key for the healer's data at rest: the tables, the buckets, the secrets,
# the queues, the topic and the logs. The roles may use it only through those services
# (kms:ViaService in each role's policy), so holding the key alone decrypts nothing.
resource "aws_kms_key" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  description             = "${var.name}: incidents, audit log, digests, secrets, queues and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.kms_key_policy)
}

resource "aws_kms_alias" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

locals {
  # In a key policy "Resource": "*" means this key and nothing else.
  kms_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # Delegates the key to IAM: the roles' own policies decide who uses it.
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheHealersLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*${var.name}*"
          }
        }
      },
      {
        # Alarm actions publish to the encrypted topic; EventBridge writes undeliverable events
        # to the encrypted dead-letter queue.
        Sid    = "AlarmsAndEventBridgeWriteEncryptedMessages"
        Effect = "Allow"
        Principal = {
          Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
        }
        Action   = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  }

  # The grant every role that touches encrypted data needs, through the services only.
  kms_via_services = {
    Sid      = "UseTheHealersKeyThroughItsServices"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    Resource = local.kms_key_arn
    Condition = {
      StringEquals = {
        "kms:ViaService" = [
          "dynamodb.${local.region}.amazonaws.com",
          "s3.${local.region}.amazonaws.com",
          "secretsmanager.${local.region}.amazonaws.com",
          "sqs.${local.region}.amazonaws.com",
        ]
      }
    }
  }
}
