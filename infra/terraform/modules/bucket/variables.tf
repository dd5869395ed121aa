variable "name" {
  description = "Bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default SSE-KMS encryption."
  type        = string
}

variable "prefix" {
  description = "Prefix the objects live under (where replaced versions expire)."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days after which a replaced object version is deleted; null keeps every version."
  type        = number
  default     = null
}

variable "object_lock_retention_days" {
  description = "Object Lock default retention in GOVERNANCE mode, in days; null: no Object Lock. Object Lock can only be turned on when the bucket is created."
  type        = number
  default     = null
}

variable "access_log_bucket" {
  description = "Existing bucket receiving S3 server access logs; null: no access logging."
  type        = string
  default     = null
}
