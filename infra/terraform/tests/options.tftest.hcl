# The variables that change what is deployed, and the ones that refuse a dangerous value.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  create_vector_index       = false
  generate_audit_key        = false
  grant_function_url_invoke = false
}

run "without_knowledge_base_and_with_own_key" {
  variables {
    enable_knowledge_base = false
    kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = length(aws_bedrockagent_knowledge_base.this) == 0 && length(aws_opensearchserverless_collection.this) == 0 && length(aws_iam_role.knowledge_base) == 0
    error_message = "enable_knowledge_base = false creates no knowledge base, collection or role."
  }

  assert {
    condition     = alltrue([for fn in aws_lambda_function.this : !contains(keys(fn.environment[0].variables), "HEALER_KB_ID")])
    error_message = "Without a knowledge base HEALER_KB_ID is unset."
  }

  assert {
    condition     = !anytrue([for s in local.analyse_statements : s.Action == "bedrock:Retrieve"])
    error_message = "Without a knowledge base no role may Retrieve."
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && aws_dynamodb_table.store.server_side_encryption[0].kms_key_arn == var.kms_key_arn && module.digest_bucket.protection.encryption.kms_master_key_id == var.kms_key_arn
    error_message = "A key brought in kms_key_arn replaces the created one everywhere."
  }
}

run "alarm_filters" {
  command = plan

  variables {
    alarm_account_ids   = ["111111111111"]
    alarm_regions       = ["eu-west-1"]
    alarm_name_prefixes = ["prod-", "payments-"]
  }

  assert {
    condition = (jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).account == ["111111111111"]
      && jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).region == ["eu-west-1"]
      && jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).detail.alarmName == [{ prefix = "prod-" }, { prefix = "payments-" }]
    && jsondecode(aws_cloudwatch_event_rule.alarm.event_pattern).detail.state.value == ["ALARM"])
    error_message = "Account, region and name-prefix filters narrow the rule; it still matches ALARM only."
  }
}

run "a_prefix_matching_the_healers_own_alarms_is_refused" {
  command = plan

  variables {
    alarm_name_prefixes = ["incident-"]
  }

  expect_failures = [var.alarm_name_prefixes]
}

run "overlapping_sweeps_are_refused" {
  command = plan

  variables {
    reserved_concurrency = { sweeper = 2 }
  }

  expect_failures = [var.reserved_concurrency]
}

run "a_name_too_long_for_opensearch_is_refused" {
  command = plan

  variables {
    name = "a-name-far-too-long-for-the-collection"
  }

  expect_failures = [var.name]
}

run "a_prefixed_model_id_is_refused" {
  command = plan

  variables {
    bedrock_model_id = "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0"
  }

  expect_failures = [var.bedrock_model_id]
}
