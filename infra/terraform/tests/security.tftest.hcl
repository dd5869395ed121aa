# The security-relevant attributes of a default deployment, against a mocked AWS provider
# (mock values in tests/mocks). Run: terraform test (tests/infra/test_terraform.py does).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  # The local-exec steps (vector index, audit key, function URL permission) call AWS; the moto
  # test (tests/infra/test_terraform.py) runs the audit key and function URL ones.
  create_vector_index       = false
  generate_audit_key        = false
  grant_function_url_invoke = false
  approvers                 = ["U012AB3CD"]
}

# The first run applies (against the mock); the others plan on its state.
run "store_tables" {
  assert {
    condition     = aws_dynamodb_table.store.point_in_time_recovery[0].enabled && aws_dynamodb_table.idempotency.point_in_time_recovery[0].enabled
    error_message = "Both tables must have point-in-time recovery."
  }

  assert {
    condition     = aws_dynamodb_table.store.deletion_protection_enabled && aws_dynamodb_table.idempotency.deletion_protection_enabled
    error_message = "Both tables must have deletion protection by default."
  }

  assert {
    condition = alltrue([
      for t in [aws_dynamodb_table.store, aws_dynamodb_table.idempotency] :
      t.server_side_encryption[0].enabled && t.server_side_encryption[0].kms_key_arn == aws_kms_key.this[0].arn
    ])
    error_message = "Both tables must be encrypted with the healer's customer-managed key."
  }

  assert {
    condition     = aws_dynamodb_table.store.hash_key == "pk" && aws_dynamodb_table.store.range_key == "sk" && aws_dynamodb_table.store.billing_mode == "PAY_PER_REQUEST"
    error_message = "The store table's keys must match healer/store/dynamodb_base.py table_definition."
  }

  assert {
    condition = alltrue([
      for gsi in aws_dynamodb_table.store.global_secondary_index :
      gsi.name == "gsi1" && gsi.hash_key == "gsi1pk" && gsi.range_key == "gsi1sk" && gsi.projection_type == "ALL"
    ]) && length(aws_dynamodb_table.store.global_secondary_index) == 1
    error_message = "The store table must have exactly the gsi1 index of table_definition."
  }

  assert {
    condition     = aws_dynamodb_table.store.ttl[0].attribute_name == "ttl" && aws_dynamodb_table.idempotency.ttl[0].attribute_name == "expiration" && aws_dynamodb_table.idempotency.hash_key == "id"
    error_message = "TTL attributes: ttl on the store (transient records), expiration on the idempotency table (Powertools)."
  }

  assert {
    condition     = aws_kms_key.this[0].enable_key_rotation
    error_message = "The customer-managed key must rotate."
  }
}

run "buckets" {
  command = plan

  assert {
    condition     = module.digest_bucket.protection.object_lock_enabled && !module.runbooks_bucket.protection.object_lock_enabled && !module.artifacts_bucket.protection.object_lock_enabled
    error_message = "The digest bucket, and only it, must be created with Object Lock."
  }

  assert {
    condition     = module.digest_bucket.protection.object_lock_retention.mode == "GOVERNANCE" && module.digest_bucket.protection.object_lock_retention.days == var.digest_retention_days
    error_message = "Digests must be retained in GOVERNANCE mode for digest_retention_days."
  }

  assert {
    condition = alltrue([
      for b in [module.runbooks_bucket, module.digest_bucket, module.artifacts_bucket] : b.protection.versioning == "Enabled"
    ])
    error_message = "Every bucket must be versioned."
  }

  assert {
    condition = alltrue([
      for b in [module.runbooks_bucket, module.digest_bucket, module.artifacts_bucket] :
      b.protection.public_access_block.block_public_acls && b.protection.public_access_block.block_public_policy
      && b.protection.public_access_block.ignore_public_acls && b.protection.public_access_block.restrict_public_buckets
    ])
    error_message = "Every bucket must block every form of public access."
  }

  assert {
    condition = alltrue([
      for b in [module.runbooks_bucket, module.digest_bucket, module.artifacts_bucket] :
      b.protection.encryption.sse_algorithm == "aws:kms" && b.protection.encryption.kms_master_key_id == aws_kms_key.this[0].arn
    ])
    error_message = "Every bucket must default to SSE-KMS with the healer's key."
  }

  assert {
    condition = alltrue([
      for b in [module.runbooks_bucket, module.digest_bucket, module.artifacts_bucket] :
      anytrue([for s in b.protection.policy.Statement : s.Effect == "Deny" && s.Condition.Bool["aws:SecureTransport"] == "false"])
    ])
    error_message = "Every bucket must deny requests without TLS."
  }

  assert {
    condition     = length(aws_s3_object.runbook) > 0 && length(aws_s3_object.runbook_metadata) == length(aws_s3_object.runbook)
    error_message = "Every runbook must be uploaded with its .metadata.json sidecar."
  }

  assert {
    condition     = jsondecode(aws_s3_object.runbook_metadata["disk-full-temp-files.md.metadata.json"].content).metadataAttributes == { runbook_id = "disk-full-temp-files", category = "disk_full", title = "Root volume or inodes exhausted by stale temporary files in /tmp and /var/tmp", actions = ["clear_disk_space"] }
    error_message = "A sidecar must carry the runbook's id, category, title and catalog actions (not 'none')."
  }
}

run "secrets_and_topics" {
  command = plan

  assert {
    condition = alltrue([
      for s in [aws_secretsmanager_secret.slack, aws_secretsmanager_secret.audit_key] : s.kms_key_id == aws_kms_key.this[0].arn
    ])
    error_message = "Secrets must be encrypted with the healer's key."
  }

  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == aws_kms_key.this[0].arn && aws_sqs_queue.events_dlq.kms_master_key_id == aws_kms_key.this[0].arn && aws_sqs_queue.lambda_dlq.kms_master_key_id == aws_kms_key.this[0].arn
    error_message = "The alarm topic and the dead-letter queues must be encrypted with the healer's key."
  }

  assert {
    condition     = aws_sqs_queue.events_dlq.message_retention_seconds == 1209600 && aws_sqs_queue.lambda_dlq.message_retention_seconds == 1209600
    error_message = "Dead letters must be kept 14 days."
  }
}

run "functions" {
  command = plan

  assert {
    condition     = toset(keys(aws_lambda_function.this)) == toset(["ingest", "analyse", "remediate", "approval", "slack", "sweeper"])
    error_message = "The six functions of the contract must exist."
  }

  assert {
    condition = alltrue([
      for key, fn in aws_lambda_function.this :
      fn.reserved_concurrent_executions == var.reserved_concurrency[key] && fn.reserved_concurrent_executions > 0
    ])
    error_message = "Every function must have its reserved concurrency."
  }

  assert {
    condition     = alltrue([for fn in aws_lambda_function.this : fn.tracing_config[0].mode == "Active" && fn.runtime == "python3.11"])
    error_message = "Every function must run python3.11 with active X-Ray tracing."
  }

  assert {
    condition = (aws_lambda_function.this["ingest"].handler == "healer.handlers.ingest.handler"
      && aws_lambda_function.this["analyse"].handler == "healer.handlers.steps.handler"
      && aws_lambda_function.this["remediate"].handler == "healer.handlers.steps.handler"
      && aws_lambda_function.this["approval"].handler == "healer.handlers.approval.handler"
      && aws_lambda_function.this["slack"].handler == "healer.handlers.slack.handler"
    && aws_lambda_function.this["sweeper"].handler == "healer.handlers.sweeper.handler")
    error_message = "Handlers must be the contract's Python paths."
  }

  assert {
    condition = alltrue([
      for key in ["ingest", "slack", "sweeper"] :
      aws_lambda_function.this[key].dead_letter_config[0].target_arn == aws_sqs_queue.lambda_dlq.arn
    ])
    error_message = "Asynchronously invoked functions must dead-letter to the Lambda DLQ."
  }

  assert {
    condition = alltrue([
      for key, fn in aws_lambda_function.this :
      contains(["analyse", "remediate"], key) != contains(keys(fn.environment[0].variables), "HEALER_STATE_MACHINE_ARN")
    ])
    error_message = "HEALER_STATE_MACHINE_ARN goes to ingest, approval, slack and sweeper, not to the state machine's own tasks."
  }

  assert {
    condition = alltrue([
      for fn in aws_lambda_function.this :
      fn.environment[0].variables["HEALER_STORE_BACKEND"] == "dynamodb"
      && fn.environment[0].variables["HEALER_MODEL"] == "bedrock:${var.bedrock_model_id}"
      && fn.environment[0].variables["HEALER_APPROVERS"] == "[\"U012AB3CD\"]"
      && fn.environment[0].variables["HEALER_AUDIT_DIGEST_PREFIX"] == "audit-digests/"
      && fn.environment[0].variables["HEALER_KB_ID"] == "MOCKKB0001"
      && fn.environment[0].variables["POWERTOOLS_SERVICE_NAME"] == "incident-healer"
    ])
    error_message = "Every function must get the healer's settings."
  }

  assert {
    condition     = aws_lambda_function_url.slack.authorization_type == "NONE" && aws_lambda_function_url.slack.function_name == "incident-healer-slack"
    error_message = "The only function URL is Slack's, with authorization NONE (Slack signs, not SigV4)."
  }

  assert {
    condition     = aws_lambda_permission.slack_url.action == "lambda:InvokeFunctionUrl" && aws_lambda_permission.slack_url.function_url_auth_type == "NONE"
    error_message = "The public permission must be limited to the function URL."
  }
}

run "workflow" {
  command = plan

  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD" && aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "The state machine must be Standard, with X-Ray tracing."
  }

  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" && !aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "Execution logging must be on, without execution data by default."
  }

  assert {
    condition = (jsondecode(aws_sfn_state_machine.this.definition).States.AwaitApproval.TimeoutSeconds == var.approval_ttl_minutes * 60
    && jsondecode(aws_sfn_state_machine.this.definition).States.WaitForRecovery.Seconds == var.verify_poll_seconds)
    error_message = "The approval task times out after the approval TTL; the verify wait is verify_poll_seconds."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : s.Resource if s.Action == "lambda:InvokeFunction"])) == toset([
      "arn:aws:lambda:us-east-1:123456789012:function:incident-healer-analyse",
      "arn:aws:lambda:us-east-1:123456789012:function:incident-healer-analyse:*",
      "arn:aws:lambda:us-east-1:123456789012:function:incident-healer-remediate",
      "arn:aws:lambda:us-east-1:123456789012:function:incident-healer-remediate:*",
    ])
    error_message = "The state machine may invoke analyse and remediate (and their versions) only."
  }

  assert {
    condition = (jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).detail.state.value == ["ALARM"]
      && jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).source == ["aws.cloudwatch"]
    && jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern)["detail-type"] == ["CloudWatch Alarm State Change"])
    error_message = "The rule must match alarm state changes into ALARM only."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).detail.alarmName == [{ "anything-but" = { prefix = "incident-healer-" } }]
    error_message = "The healer's own alarms must never reach it."
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern)), "account") && !contains(keys(jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern)), "region")
    error_message = "Empty account and region lists must add no filter."
  }

  assert {
    condition     = aws_cloudwatch_event_target.ingest.dead_letter_config[0].arn == aws_sqs_queue.events_dlq.arn && aws_cloudwatch_event_target.ingest.retry_policy[0].maximum_retry_attempts > 0
    error_message = "The ingest target must retry and dead-letter."
  }

  assert {
    condition     = aws_lambda_permission.ingest_from_rule.principal == "events.amazonaws.com" && aws_lambda_permission.ingest_from_rule.source_arn == aws_cloudwatch_event_rule.alarm.arn
    error_message = "Only the alarm rule may invoke ingest."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.events_dlq.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == aws_cloudwatch_event_rule.alarm.arn
    error_message = "Only the alarm rule may write to the events DLQ."
  }

  assert {
    condition     = toset(keys(aws_ssm_document.catalog)) == toset(["RestartService", "CleanupDisk"]) && alltrue([for d in aws_ssm_document.catalog : d.document_type == "Command" && d.document_format == "YAML"])
    error_message = "The catalog's two Command documents must be created from runbooks/ssm, named literally."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.function_errors) == 6 && length(aws_cloudwatch_metric_alarm.dlq_not_empty) == 2 && length(aws_cloudwatch_metric_alarm.executions) == 2
    error_message = "Alarms on every function, both DLQs and failed or timed-out executions."
  }

  assert {
    condition = alltrue([
      for a in concat(values(aws_cloudwatch_metric_alarm.function_errors), values(aws_cloudwatch_metric_alarm.dlq_not_empty), values(aws_cloudwatch_metric_alarm.executions), [aws_cloudwatch_metric_alarm.approvals_waiting]) :
      startswith(a.alarm_name, "incident-healer-") && contains(a.alarm_actions, aws_sns_topic.alarms.arn)
    ])
    error_message = "The healer's alarms are named <name>-… (so the rule ignores them) and notify the topic."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.approvals_waiting.evaluation_periods * aws_cloudwatch_metric_alarm.approvals_waiting.period > var.approval_ttl_minutes * 60
    error_message = "ApprovalsWaiting alarms only after the approval TTL."
  }
}

run "knowledge_base" {
  command = plan

  assert {
    condition     = aws_opensearchserverless_collection.this[0].type == "VECTORSEARCH"
    error_message = "The collection must be a VECTORSEARCH collection."
  }

  assert {
    condition     = jsondecode(aws_opensearchserverless_security_policy.encryption[0].policy).KmsARN == aws_kms_key.this[0].arn && !jsondecode(aws_opensearchserverless_security_policy.encryption[0].policy).AWSOwnedKey
    error_message = "The collection must be encrypted with the healer's key."
  }

  assert {
    condition = (aws_bedrockagent_knowledge_base.this[0].knowledge_base_configuration[0].type == "VECTOR"
      && aws_bedrockagent_knowledge_base.this[0].storage_configuration[0].type == "OPENSEARCH_SERVERLESS"
    && aws_bedrockagent_knowledge_base.this[0].knowledge_base_configuration[0].vector_knowledge_base_configuration[0].embedding_model_arn == "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")
    error_message = "A VECTOR knowledge base on OpenSearch Serverless, embedding with Titan Text Embeddings V2."
  }

  assert {
    condition = (aws_bedrockagent_knowledge_base.this[0].storage_configuration[0].opensearch_serverless_configuration[0].field_mapping[0] == {
      vector_field   = "bedrock-knowledge-base-default-vector"
      text_field     = "AMAZON_BEDROCK_TEXT_CHUNK"
      metadata_field = "AMAZON_BEDROCK_METADATA"
    })
    error_message = "Field names must be knowledge_base/opensearch.py's VECTOR_FIELD, TEXT_FIELD, METADATA_FIELD."
  }

  assert {
    condition = toset(flatten([for rule in jsondecode(aws_opensearchserverless_access_policy.this[0].policy) : rule.Principal])) == toset([
      aws_iam_role.knowledge_base[0].arn, "arn:aws:iam::123456789012:role/deployer",
    ])
    error_message = "Data access for the knowledge base's role and the deployer's role (not its STS session) only."
  }

  assert {
    condition     = aws_bedrockagent_data_source.runbooks[0].data_source_configuration[0].s3_configuration[0].inclusion_prefixes == toset(["runbooks/"])
    error_message = "The data source reads the uploaded runbooks."
  }
}
