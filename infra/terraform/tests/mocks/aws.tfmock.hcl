# Values the mocked AWS provider returns, shaped like the real ones so that the provider's own
# ARN validations pass and assertions can compare them.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:sts::123456789012:assumed-role/deployer/session"
  }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_iam_session_context" {
  defaults = { issuer_arn = "arn:aws:iam::123456789012:role/deployer" }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    key_id = "00000000-0000-0000-0000-000000000000"
  }
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:us-east-1:123456789012:mock"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/mock"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock"
  }
}

mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:us-east-1:123456789012:mock" }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mock-AbCdEf" }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:us-east-1:123456789012:function:mock"
    invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
    qualified_arn = "arn:aws:lambda:us-east-1:123456789012:function:mock:1"
  }
}

mock_resource "aws_lambda_function_url" {
  defaults = { function_url = "https://mock.lambda-url.us-east-1.on.aws/" }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/mock" }
}

mock_resource "aws_sfn_state_machine" {
  defaults = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock" }
}

mock_resource "aws_dynamodb_table" {
  defaults = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock" }
}

mock_resource "aws_s3_bucket" {
  defaults = { arn = "arn:aws:s3:::mock" }
}

mock_resource "aws_s3_object" {
  defaults = { version_id = "mock-version" }
}

mock_resource "aws_opensearchserverless_collection" {
  defaults = {
    arn                 = "arn:aws:aoss:us-east-1:123456789012:collection/mock"
    collection_endpoint = "https://mock.us-east-1.aoss.amazonaws.com"
  }
}

mock_resource "aws_bedrockagent_knowledge_base" {
  defaults = {
    arn = "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/MOCKKB0001"
    id  = "MOCKKB0001"
  }
}

mock_resource "aws_ssm_document" {
  defaults = {
    arn       = "arn:aws:ssm:us-east-1:123456789012:document/mock"
    hash      = "0000000000000000000000000000000000000000000000000000000000000000"
    hash_type = "Sha256"
  }
}
