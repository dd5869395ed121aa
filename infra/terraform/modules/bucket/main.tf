# A private bucket the way the healer keeps all of its buckets: no public access, ACLs off,
# versioned, SSE-KMS with a customer-managed key, TLS only, incomplete uploads cleaned up, and
# optionally Object Lock (governance mode) and access logging.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:The healer's buckets hold what apply rebuilds from the repository (runbooks, the package) or what Object Lock already keeps (digests); a replica region is the operator's choice.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to uploads: the knowledge base syncs by ingestion job, digests are read on demand, Lambda reads the package at deploy time.
  #checkov:skip=CKV_AWS_18:Access logging is opt-in (var.access_log_bucket): a deployment has no log bucket of its own to assume.
  bucket = var.name

  object_lock_enabled = var.object_lock_retention_days != null
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock_retention_days != null ? 1 : 0

  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = var.object_lock_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # An empty prefix (rather than an empty filter) is the whole bucket, said the way S3 returns
  # it, so the provider sees no difference after apply.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Replaced versions expire only where the caller says so (never the digests: a disabled rule).
  rule {
    id     = "expire-replaced-versions"
    status = var.noncurrent_version_days != null ? "Enabled" : "Disabled"

    filter {
      prefix = var.prefix
    }

    noncurrent_version_expiration {
      noncurrent_days = coalesce(var.noncurrent_version_days, 36500)
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket != null ? 1 : 0

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.name}/"
}
