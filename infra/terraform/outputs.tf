output "state_machine_arn" {
  description = "The workflow (HEALER_STATE_MACHINE_ARN)."
  value       = aws_sfn_state_machine.this.arn
}

output "store_table_name" {
  description = "The store's DynamoDB table (HEALER_STORE_TABLE)."
  value       = aws_dynamodb_table.store.name
}

output "idempotency_table_name" {
  description = "Powertools idempotency records (HEALER_IDEMPOTENCY_TABLE)."
  value       = aws_dynamodb_table.idempotency.name
}

output "runbooks_bucket" {
  description = "The knowledge base's data source."
  value       = module.runbooks_bucket.id
}

output "digest_bucket" {
  description = "Audit digests under Object Lock (HEALER_AUDIT_DIGEST_BUCKET)."
  value       = module.digest_bucket.id
}

output "knowledge_base_id" {
  description = "The Bedrock Knowledge Base (HEALER_KB_ID); null when disabled."
  value       = var.enable_knowledge_base ? aws_bedrockagent_knowledge_base.this[0].id : null
}

output "knowledge_base_data_source_id" {
  description = "The runbooks data source, for `aws bedrock-agent start-ingestion-job`; null when disabled."
  value       = var.enable_knowledge_base ? aws_bedrockagent_data_source.runbooks[0].data_source_id : null
}

output "collection_endpoint" {
  description = "The OpenSearch Serverless collection endpoint; null when disabled."
  value       = var.enable_knowledge_base ? aws_opensearchserverless_collection.this[0].collection_endpoint : null
}

output "slack_function_url" {
  description = "Slack app Request URL (interactivity and slash commands)."
  value       = aws_lambda_function_url.slack.function_url
}

output "alarm_topic_arn" {
  description = "SNS topic of the healer's own alarms."
  value       = aws_sns_topic.alarms.arn
}

output "ssm_documents" {
  description = "The catalog's SSM documents: name => SHA-256 content hash (approvals bind to it)."
  value       = { for name, doc in aws_ssm_document.catalog : name => doc.hash }
}

output "slack_secret_arn" {
  description = "Secret to put the Slack app's JSON credentials in (HEALER_SLACK_SECRET_ARN)."
  value       = aws_secretsmanager_secret.slack.arn
}

output "audit_key_secret_arn" {
  description = "The audit HMAC key (HEALER_AUDIT_KEY_SECRET_ARN)."
  value       = aws_secretsmanager_secret.audit_key.arn
}

output "function_names" {
  description = "Lambda function names by role (ingest, analyse, remediate, approval, slack, sweeper)."
  value       = { for key, fn in aws_lambda_function.this : key => fn.function_name }
}

output "kms_key_arn" {
  description = "The key everything is encrypted with."
  value       = local.kms_key_arn
}

output "role_arns" {
  description = "IAM role of each function, the state machine and the knowledge base (a key you bring must let these use it)."
  value = merge(
    { for key in keys(local.functions) : key => local.functions[key].role_arn },
    { state_machine = aws_iam_role.state_machine.arn },
    var.enable_knowledge_base ? { knowledge_base = aws_iam_role.knowledge_base[0].arn } : {},
  )
}
