# The Bedrock Knowledge Base's service role: read the runbooks, embed them, write the vectors.

resource "aws_iam_role" "knowledge_base" {
  count = local.kb_count

  name        = "${var.name}-knowledge-base"
  description = "Bedrock Knowledge Base ${var.name}-runbooks: runbooks bucket to vector collection"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "bedrock.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:knowledge-base/*" }
        }
      },
    ]
  })
}

resource "aws_iam_role_policy" "knowledge_base" {
  count = local.kb_count

  name = "knowledge-base"
  role = aws_iam_role.knowledge_base[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EmbedWithTheConfiguredModel"
        Effect   = "Allow"
        Action   = "bedrock:InvokeModel"
        Resource = local.embedding_model_arn
      },
      {
        Sid      = "ListRunbooks"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = local.arns.runbooks_bucket
        Condition = {
          StringLike = { "s3:prefix" = ["${local.runbooks_prefix}*"] }
        }
      },
      {
        Sid      = "ReadRunbooks"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.arns.runbooks_bucket}/${local.runbooks_prefix}*"
      },
      {
        Sid      = "DecryptRunbooksAndVectors"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource = local.kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService" = ["s3.${local.region}.amazonaws.com", "aoss.${local.region}.amazonaws.com"]
          }
        }
      },
      {
        Sid      = "WriteVectors"
        Effect   = "Allow"
        Action   = "aoss:APIAccessAll"
        Resource = aws_opensearchserverless_collection.this[0].arn
      },
    ]
  })
}
