# Three buckets, hardened alike (modules/bucket): runbooks (the knowledge base's data source),
# digests (signed checkpoints of the audit chain, under Object Lock) and artifacts (the Lambda
# package).

module "runbooks_bucket" {
  source = "./modules/bucket"

  name                    = local.names.runbooks_bucket
  kms_key_arn             = local.kms_key_arn
  prefix                  = local.runbooks_prefix
  noncurrent_version_days = 90
  access_log_bucket       = var.access_log_bucket
}

# A digest written under governance-mode retention cannot be overwritten or deleted by the
# healer's roles, so a rewritten audit log no longer matches its digests.
module "digest_bucket" {
  source = "./modules/bucket"

  name                       = local.names.digest_bucket
  kms_key_arn                = local.kms_key_arn
  prefix                     = local.digest_prefix
  object_lock_retention_days = var.digest_retention_days
  access_log_bucket          = var.access_log_bucket
}

module "artifacts_bucket" {
  source = "./modules/bucket"

  name                    = local.names.artifacts_bucket
  kms_key_arn             = local.kms_key_arn
  prefix                  = local.artifacts_prefix
  noncurrent_version_days = 30
  access_log_bucket       = var.access_log_bucket
}

################################################################################
# Runbooks and their metadata
################################################################################

locals {
  runbooks_dir    = "${path.module}/../../runbooks"
  runbooks_prefix = "runbooks/"
  runbook_files   = fileset(local.runbooks_dir, "*.md")

  # Each runbook's YAML front matter (between the leading `---` lines).
  runbook_front_matter = {
    for f in local.runbook_files :
    f => yamldecode(regex("(?s)\\A---\\n(.*?)\\n---\\n", file("${local.runbooks_dir}/${f}"))[0])
  }

  runbook_actions = {
    for f, meta in local.runbook_front_matter :
    f => sort(distinct([for a in try(meta.actions, []) : a.action if try(a.action, null) != null && try(a.action, "none") != "none"]))
  }

  # The `<file>.metadata.json` sidecars the knowledge base ingests next to each runbook, so a
  # retrieval can be filtered by category or action: the same documents as
  # knowledge_base/bedrock.py `runbook_metadata_files` (tests/infra compares them).
  runbook_sidecars = {
    for f, meta in local.runbook_front_matter : "${f}.metadata.json" => jsonencode({
      metadataAttributes = merge(
        {
          runbook_id = meta.id
          category   = meta.category
          title      = meta.title
        },
        length(local.runbook_actions[f]) > 0 ? { actions = local.runbook_actions[f] } : {},
      )
    })
  }
}

# `source_hash`, not `etag`: under SSE-KMS the ETag S3 returns is not the file's MD5, so an etag
# would show a change on every plan.
resource "aws_s3_object" "runbook" {
  for_each = local.runbook_files

  bucket       = module.runbooks_bucket.id
  key          = "${local.runbooks_prefix}${each.value}"
  source       = "${local.runbooks_dir}/${each.value}"
  source_hash  = filemd5("${local.runbooks_dir}/${each.value}")
  content_type = "text/markdown"

}

resource "aws_s3_object" "runbook_metadata" {
  for_each = local.runbook_sidecars

  bucket       = module.runbooks_bucket.id
  key          = "${local.runbooks_prefix}${each.key}"
  content      = each.value
  source_hash  = md5(each.value)
  content_type = "application/json"

}

################################################################################
# The Lambda package
################################################################################

locals {
  artifacts_prefix = "lambda/"
}

# Uploaded once for the six functions, through S3: a direct upload is limited to 50 MB.
resource "aws_s3_object" "lambda_package" {
  bucket      = module.artifacts_bucket.id
  key         = "${local.artifacts_prefix}healer-lambda.zip"
  source      = local.lambda_package
  source_hash = try(filemd5(local.lambda_package), null)

}
