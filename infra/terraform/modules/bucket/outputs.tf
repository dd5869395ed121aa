output "id" {
  description = "Bucket name (what the object resources take)."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

# Read back by the root module's tests (a test can read a module's outputs only).
output "protection" {
  description = "The bucket's protections as applied: public access block, versioning, encryption, TLS policy, Object Lock."
  value = {
    public_access_block = aws_s3_bucket_public_access_block.this
    versioning          = one(aws_s3_bucket_versioning.this.versioning_configuration[*].status)
    encryption = one(flatten([
      for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule : rule.apply_server_side_encryption_by_default
    ]))
    policy              = jsondecode(aws_s3_bucket_policy.this.policy)
    object_lock_enabled = aws_s3_bucket.this.object_lock_enabled
    object_lock_retention = one(flatten([
      for config in aws_s3_bucket_object_lock_configuration.this : [for rule in config.rule : rule.default_retention]
    ]))
  }
}
