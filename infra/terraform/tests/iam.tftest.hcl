# Least privilege: who may change the world, and how narrowly; the audit log's append-only rule;
# the model and the knowledge base as the only Bedrock resources.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  create_vector_index       = false
  generate_audit_key        = false
  grant_function_url_invoke = false
}

run "policies_are_the_checked_statements" {
  assert {
    condition = alltrue([
      for key, policy in {
        ingest    = aws_iam_role_policy.ingest.policy
        analyse   = aws_iam_role_policy.analyse.policy
        remediate = aws_iam_role_policy.remediate.policy
        approval  = aws_iam_role_policy.approval.policy
        slack     = aws_iam_role_policy.slack.policy
        sweeper   = aws_iam_role_policy.sweeper.policy
      } : jsondecode(policy).Statement == jsondecode(jsonencode(local.function_role_statements[key]))
    ])
    error_message = "Each role's policy must be exactly the statements this file checks."
  }
}

run "audit_log_is_append_only_for_every_role" {
  command = plan

  assert {
    condition = alltrue([
      for key, statements in local.function_role_statements : anytrue([
        for s in statements : s.Effect == "Deny"
        && contains(flatten([s.Action]), "dynamodb:DeleteItem")
        && contains(flatten([s.Action]), "dynamodb:UpdateItem")
        && s.Resource == "arn:aws:dynamodb:us-east-1:123456789012:table/incident-healer-store"
        && contains(try(s.Condition["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"], []), "AUDIT#LOG")
      ])
    ])
    error_message = "Every function role must be denied DeleteItem and UpdateItem on the audit log's items."
  }
}

run "only_remediate_changes_the_world" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for key, statements in local.function_role_statements : [
        for s in statements : [
          for a in flatten([s.Action]) : !(contains([
            "ssm:SendCommand", "ssm:StartAutomationExecution",
            "autoscaling:SetDesiredCapacity", "autoscaling:UpdateAutoScalingGroup",
            "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:EnterStandby",
            "autoscaling:ExitStandby", "autoscaling:StartInstanceRefresh",
            "ec2:StopInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute",
            "ec2:RunInstances", "ec2:TerminateInstances", "iam:PassRole",
          ], a) && s.Effect == "Allow") || key == "remediate"
        ]
      ]
    ]))
    error_message = "No role but remediate may send commands, start automations, change groups or instances."
  }

  assert {
    # A wildcard may only name read actions (Describe*), so no role gets a mutation by pattern.
    condition = alltrue(flatten([
      for key, statements in merge(local.function_role_statements, { state_machine = local.state_machine_statements }) : [
        for s in statements : [
          for a in flatten([s.Action]) : !strcontains(a, "*") || (endswith(a, ":Describe*") && s.Effect == "Allow")
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "Wildcard actions are limited to Describe*."
  }

  assert {
    condition = (toset(flatten([for s in local.remediate_statements : s.Resource if s.Action == "ssm:SendCommand" && try(s.Condition, null) == null])) == toset([
      "arn:aws:ssm:us-east-1:123456789012:document/CleanupDisk",
      "arn:aws:ssm:us-east-1:123456789012:document/RestartService",
    ]))
    error_message = "SendCommand may use the catalog's two documents only."
  }

  assert {
    condition = alltrue([
      for s in local.remediate_statements : s.Condition.StringEquals["ssm:resourceTag/healer:managed"] == "true" && s.Resource == "arn:aws:ec2:us-east-1:123456789012:instance/*"
      if s.Action == "ssm:SendCommand" && try(s.Condition, null) != null
    ]) && length([for s in local.remediate_statements : s if s.Action == "ssm:SendCommand"]) == 2
    error_message = "SendCommand may target instances tagged healer:managed=true only."
  }

  assert {
    condition = (toset(flatten([for s in local.remediate_statements : s.Resource if s.Action == "ssm:StartAutomationExecution"])) == toset([
      "arn:aws:ssm:us-east-1::automation-definition/AWS-RestartEC2Instance:*",
      "arn:aws:ssm:us-east-1:123456789012:automation-definition/AWS-RestartEC2Instance:*",
      "arn:aws:ssm:us-east-1::automation-definition/AWS-ResizeInstance:*",
      "arn:aws:ssm:us-east-1:123456789012:automation-definition/AWS-ResizeInstance:*",
    ]))
    error_message = "Automations are limited to AWS-RestartEC2Instance and AWS-ResizeInstance."
  }

  assert {
    condition = alltrue([
      for s in local.remediate_statements : s.Condition.StringEquals["autoscaling:ResourceTag/healer:managed"] == "true"
      if anytrue([for a in flatten([s.Action]) : startswith(a, "autoscaling:") && !startswith(a, "autoscaling:Describe")])
    ])
    error_message = "Auto Scaling changes are limited to groups tagged healer:managed=true."
  }

  assert {
    condition = alltrue([
      for s in local.remediate_statements : s.Condition.StringEquals["aws:ResourceTag/healer:managed"] == "true"
      if length(setintersection(toset(flatten([s.Action])), toset(["ec2:StopInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute"]))) > 0
    ])
    error_message = "Stop, start and resize are limited to instances tagged healer:managed=true."
  }

  assert {
    condition = alltrue([
      for s in local.remediate_statements : try(s.Condition.StringEquals["aws:ResourceTag/healer:managed"], null) == "true" || try(s.Condition.ArnLike["ec2:LaunchTemplate"], null) != null
      if s.Action == "ec2:RunInstances"
    ])
    error_message = "RunInstances (checked when a rollback points a group at a template) only from healer-managed launch templates."
  }

  assert {
    condition     = !anytrue([for s in local.remediate_statements : s.Action == "iam:PassRole"])
    error_message = "No PassRole unless remediate_pass_role_arns names the roles."
  }
}

run "wildcard_resources_only_where_aws_has_no_resource_level_permissions" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for key, statements in merge(local.function_role_statements, { state_machine = local.state_machine_statements }) : [
        for s in statements : [
          for a in flatten([s.Action]) : contains([
            "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
            "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarmsForMetric",
            "cloudwatch:PutMetricData",
            "logs:DescribeLogGroups", "logs:StopQuery",
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
            "ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypes", "ec2:DescribeImages",
            "autoscaling:Describe*", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
            "ssm:DescribeInstanceInformation", "ssm:ListCommands", "ssm:ListCommandInvocations", "ssm:GetCommandInvocation",
            "pricing:GetProducts",
          ], a)
        ] if s.Effect == "Allow" && contains(flatten([s.Resource]), "*")
      ]
    ]))
    error_message = "A \"*\" resource is allowed only for actions without resource-level permissions."
  }

  assert {
    condition = alltrue(flatten([
      for key, statements in local.function_role_statements : [
        for s in statements : s.Condition.StringEquals["cloudwatch:namespace"] == "IncidentHealer"
        if contains(flatten([s.Action]), "cloudwatch:PutMetricData")
      ]
    ]))
    error_message = "PutMetricData only into the healer's namespace."
  }

  assert {
    condition = alltrue(flatten([
      for key, statements in local.function_role_statements : [
        for s in statements : length(s.Condition.StringEquals["kms:ViaService"]) > 0
        if anytrue([for a in flatten([s.Action]) : startswith(a, "kms:")])
      ]
    ]))
    error_message = "The key is usable only through the healer's services (kms:ViaService)."
  }
}

run "bedrock_through_an_inference_profile" {
  command = plan

  assert {
    condition = (toset(flatten([for s in local.analyse_statements : s.Resource if contains(flatten([s.Action]), "bedrock:InvokeModel")])) == toset([
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
      "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
    ]))
    error_message = "The configured profile and its foundation model only."
  }

  assert {
    condition = alltrue([
      for s in local.analyse_statements : s.Condition.StringEquals["bedrock:InferenceProfileArn"] == "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0"
      if contains(flatten([s.Action]), "bedrock:InvokeModel") && strcontains(join(",", flatten([s.Resource])), "foundation-model")
    ])
    error_message = "The foundation model (any region) only through the configured profile."
  }

  assert {
    condition = alltrue([
      for key, statements in local.function_role_statements : !anytrue([for s in statements : anytrue([for a in flatten([s.Action]) : startswith(a, "bedrock:")])])
      if key != "analyse"
    ])
    error_message = "Only analyse may call Bedrock."
  }

  assert {
    condition     = [for s in local.analyse_statements : s.Resource if s.Action == "bedrock:Retrieve"] == ["arn:aws:bedrock:us-east-1:123456789012:knowledge-base/MOCKKB0001"]
    error_message = "Retrieve on the healer's knowledge base only."
  }
}

run "bedrock_foundation_model" {
  command = plan

  variables {
    bedrock_model_id = "anthropic.claude-3-5-haiku-20241022-v1:0"
  }

  assert {
    condition     = [for s in local.analyse_statements : s.Resource if contains(flatten([s.Action]), "bedrock:InvokeModel")] == ["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"]
    error_message = "A foundation model id is allowed in the deployment's region only."
  }
}

run "workflow_signals" {
  command = plan

  assert {
    condition     = [for s in local.ingest_statements : s.Resource if s.Action == "states:StartExecution"] == ["arn:aws:states:us-east-1:123456789012:stateMachine:incident-healer-workflow"]
    error_message = "ingest may start executions of the healer's state machine only."
  }

  assert {
    condition = alltrue([
      for key in ["approval", "slack", "analyse", "sweeper"] : [
        for s in local.function_role_statements[key] : s.Resource if contains(flatten([s.Action]), "states:SendTaskSuccess")
      ] == ["arn:aws:states:us-east-1:123456789012:stateMachine:incident-healer-workflow"]
    ])
    error_message = "Approvals resume executions of the healer's state machine only."
  }

  assert {
    condition = (toset(flatten([for s in local.slack_statements : s.Resource if s.Action == "lambda:InvokeFunction"])) == toset([
      "arn:aws:lambda:us-east-1:123456789012:function:incident-healer-slack",
      "arn:aws:lambda:us-east-1:123456789012:function:incident-healer-approval",
    ]))
    error_message = "slack may invoke itself (lazy listeners) and the approval callback only."
  }

  assert {
    condition = alltrue([
      for key in ["analyse", "remediate"] : alltrue([
        for s in local.function_role_statements[key] : alltrue([
          for a in flatten([s.Action]) : !startswith(a, "states:") || (key == "analyse" && contains(["states:SendTaskSuccess", "states:SendTaskFailure"], a))
        ])
      ])
    ])
    error_message = "The state machine's own tasks never start or stop executions; only analyse resumes a wait a decision came before."
  }
}

run "pass_role_when_asked" {
  command = plan

  variables {
    remediate_pass_role_arns = ["arn:aws:iam::123456789012:role/web-instance"]
  }

  assert {
    condition     = [for s in local.remediate_statements : s.Condition.StringEquals["iam:PassedToService"] if s.Action == "iam:PassRole"] == ["ec2.amazonaws.com"]
    error_message = "PassRole only for the named roles, only to EC2."
  }
}
