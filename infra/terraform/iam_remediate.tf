# remediate: the only role that changes the world, and only in the catalog's ways: the catalog's
# SSM documents and automations, on instances and groups tagged healer:managed=true.

resource "aws_iam_role" "remediate" {
  name               = "${var.name}-remediate"
  description        = "Lambda ${var.name}-remediate: catalog actions on healer:managed resources only"
  assume_role_policy = local.lambda_assume_role_policy
}

resource "aws_iam_role_policy" "remediate" {
  name = "remediate"
  role = aws_iam_role.remediate.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.remediate_statements
  })
}

locals {
  managed_tag = "healer:managed"
  ec2_arn     = "arn:${local.partition}:ec2:${local.region}:${local.account_id}"

  catalog_document_arns = [
    for name in keys(local.ssm_documents) : "arn:${local.partition}:ssm:${local.region}:${local.account_id}:document/${name}"
  ]

  # AWS-owned automation runbooks are named with or without the account in their ARN depending
  # on the call path; both forms, any version, these two runbooks only.
  automation_definition_arns = flatten([
    for name in local.automation_documents : [
      "arn:${local.partition}:ssm:${local.region}::automation-definition/${name}:*",
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:automation-definition/${name}:*",
    ]
  ])

  remediate_statements = concat(
    local.lambda_baseline["remediate"],
    local.store_access,
    local.digest_access,
    local.world_read,
    [
      local.read_audit_key,
      # SendCommand is authorized on the document and on each target instance separately: the
      # documents are the catalog's, the instances must carry the tag.
      {
        Sid      = "SendOnlyCatalogDocuments"
        Effect   = "Allow"
        Action   = "ssm:SendCommand"
        Resource = local.catalog_document_arns
      },
      {
        Sid      = "SendOnlyToManagedInstances"
        Effect   = "Allow"
        Action   = "ssm:SendCommand"
        Resource = "${local.ec2_arn}:instance/*"
        Condition = {
          StringEquals = { "ssm:resourceTag/${local.managed_tag}" = "true" }
        }
      },
      {
        Sid      = "StartOnlyCatalogAutomations"
        Effect   = "Allow"
        Action   = "ssm:StartAutomationExecution"
        Resource = local.automation_definition_arns
      },
      {
        Sid      = "FollowAutomations"
        Effect   = "Allow"
        Action   = ["ssm:GetAutomationExecution", "ssm:DescribeAutomationStepExecutions"]
        Resource = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:automation-execution/*"
      },
      {
        # The automations run with this role's permissions (no AutomationAssumeRole): restart
        # (stop, start) and resize (modify the instance type) of managed instances only.
        Sid      = "AutomationStepsOnManagedInstancesOnly"
        Effect   = "Allow"
        Action   = ["ec2:StopInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute"]
        Resource = "${local.ec2_arn}:instance/*"
        Condition = {
          StringEquals = { "aws:ResourceTag/${local.managed_tag}" = "true" }
        }
      },
      {
        Sid    = "ChangeManagedGroupsOnly"
        Effect = "Allow"
        Action = [
          "autoscaling:SetDesiredCapacity",
          "autoscaling:UpdateAutoScalingGroup",
          "autoscaling:TerminateInstanceInAutoScalingGroup",
          "autoscaling:EnterStandby",
          "autoscaling:ExitStandby",
          "autoscaling:StartInstanceRefresh",
        ]
        Resource = "arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/*"
        Condition = {
          StringEquals = { "autoscaling:ResourceTag/${local.managed_tag}" = "true" }
        }
      },
      # rollback_deployment points a group at another launch template version; Auto Scaling then
      # checks that the caller could launch from it (ec2:RunInstances). Only from managed launch
      # templates, and every other resource of the launch only through a launch template.
      {
        Sid      = "RollbackToManagedLaunchTemplatesOnly"
        Effect   = "Allow"
        Action   = "ec2:RunInstances"
        Resource = "${local.ec2_arn}:launch-template/*"
        Condition = {
          StringEquals = { "aws:ResourceTag/${local.managed_tag}" = "true" }
        }
      },
      {
        Sid    = "RollbackLaunchesOnlyThroughALaunchTemplate"
        Effect = "Allow"
        Action = "ec2:RunInstances"
        Resource = [
          "${local.ec2_arn}:instance/*",
          "${local.ec2_arn}:volume/*",
          "${local.ec2_arn}:network-interface/*",
          "${local.ec2_arn}:subnet/*",
          "${local.ec2_arn}:security-group/*",
          "${local.ec2_arn}:key-pair/*",
          "arn:${local.partition}:ec2:${local.region}::image/*",
        ]
        Condition = {
          ArnLike = { "ec2:LaunchTemplate" = "${local.ec2_arn}:launch-template/*" }
        }
      },
    ],
    length(var.remediate_pass_role_arns) > 0 ? [
      {
        Sid      = "PassManagedInstanceProfileRoles"
        Effect   = "Allow"
        Action   = "iam:PassRole"
        Resource = var.remediate_pass_role_arns
        Condition = {
          StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" }
        }
      },
    ] : [],
  )
}
