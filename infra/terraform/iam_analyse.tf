# analyse: the workflow steps that read the world and decide (investigate, govern,
# await_approval, expire, verify, close, fail). It can change nothing outside the healer.

resource "aws_iam_role" "analyse" {
  name               = "${var.name}-analyse"
  description        = "Lambda ${var.name}-analyse: read-only workflow steps and the model"
  assume_role_policy = local.lambda_assume_role_policy
}

resource "aws_iam_role_policy" "analyse" {
  name = "analyse"
  role = aws_iam_role.analyse.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.analyse_statements
  })
}

locals {
  # A cross-region inference profile id is the model id with a geography prefix.
  model_profile_match = regex("^(?:(us-gov|us|eu|apac|jp|au|ca|global)\\.)?(.+)$", var.bedrock_model_id)
  model_is_profile    = local.model_profile_match[0] != null
  foundation_model_id = local.model_profile_match[1]
  inference_profile_arn = (local.model_is_profile ?
  "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${var.bedrock_model_id}" : null)

  # InvokeModel also authorizes Converse, InvokeModelWithResponseStream also ConverseStream.
  model_actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]

  # The configured model and nothing else. Through a profile, Bedrock routes the call to the
  # foundation model in any of the profile's regions, so that statement names every region but
  # holds only for calls made through this profile.
  bedrock_statements = {
    profile = [
      {
        Sid      = "InvokeTheConfiguredInferenceProfile"
        Effect   = "Allow"
        Action   = local.model_actions
        Resource = local.inference_profile_arn
      },
      {
        Sid      = "InvokeTheProfilesModelThroughTheProfile"
        Effect   = "Allow"
        Action   = local.model_actions
        Resource = "arn:${local.partition}:bedrock:*::foundation-model/${local.foundation_model_id}"
        Condition = {
          StringEquals = { "bedrock:InferenceProfileArn" = local.inference_profile_arn }
        }
      },
    ]
    model = [
      {
        Sid      = "InvokeTheConfiguredModel"
        Effect   = "Allow"
        Action   = local.model_actions
        Resource = "arn:${local.partition}:bedrock:${local.region}::foundation-model/${var.bedrock_model_id}"
      },
    ]
  }[local.model_is_profile ? "profile" : "model"]

  analyse_statements = concat(
    local.lambda_baseline["analyse"],
    local.store_access,
    local.digest_access,
    local.world_read,
    local.bedrock_statements,
    [
      local.read_audit_key_and_slack,
      # A decision taken before the approval wait stored its token resumes the wait at once.
      local.resume_execution,
      {
        # The Price List API has no resource-level permissions; it reads public prices only.
        Sid      = "ReadPrices"
        Effect   = "Allow"
        Action   = "pricing:GetProducts"
        Resource = "*"
      },
    ],
    var.enable_knowledge_base ? [
      {
        Sid      = "RetrieveRunbooks"
        Effect   = "Allow"
        Action   = "bedrock:Retrieve"
        Resource = aws_bedrockagent_knowledge_base.this[0].arn
      },
    ] : [],
  )
}
