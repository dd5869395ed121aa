################################################################################
# Deployment
################################################################################

variable "name" {
  description = "Prefix of every resource name (functions, tables, buckets, the collection)."
  type        = string
  default     = "incident-healer"

  validation {
    # OpenSearch Serverless names (collection, policies: "<name>-kb-net") stop at 32 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{2,23}$", var.name))
    error_message = "name: 3 to 24 characters, lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy into (the region whose alarms the healer watches by default)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region: an AWS region name such as us-east-1."
  }
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "A customer-managed KMS key to encrypt everything with; null creates one. A key you bring must allow the principals listed in README (CloudWatch Logs, CloudWatch alarms to SNS, EventBridge to SQS)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID), or null."
  }
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection on both tables. Turn off (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

################################################################################
# Lambda
################################################################################

variable "lambda_package" {
  description = "The Lambda zip every function runs (built by `make package`); null means <repo>/build/lambda/healer-lambda.zip."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Instruction set of the functions; must match the wheels `make package` put in the zip."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture: x86_64 or arm64."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency per function. It caps what a flood of alarms can spend and guarantees capacity; 0 disables a function (a kill switch: remediate = 0 stops every action)."
  type = object({
    ingest    = optional(number, 10)
    analyse   = optional(number, 10)
    remediate = optional(number, 5)
    approval  = optional(number, 5)
    slack     = optional(number, 10)
    sweeper   = optional(number, 1)
  })
  default = {}

  validation {
    condition     = alltrue([for n in values(var.reserved_concurrency) : n >= 0 && floor(n) == n])
    error_message = "reserved_concurrency: whole numbers, 0 or more."
  }

  validation {
    # Two sweeps at once would expire the same approval twice.
    condition     = var.reserved_concurrency.sweeper <= 1
    error_message = "reserved_concurrency.sweeper: 0 or 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' and the state machine's log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "encrypt_logs" {
  description = "Encrypt the log groups with the KMS key (incident data reaches the logs)."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level: DEBUG, INFO, WARNING or ERROR."
  }
}

################################################################################
# The healer's settings (HEALER_… environment variables)
################################################################################

variable "bedrock_model_id" {
  description = "Bedrock model the agents use: a foundation model id or a cross-region inference profile id (us.…, eu.…, apac.…, global.…). IAM allows this model only."
  type        = string
  default     = "us.anthropic.claude-sonnet-4-20250514-v1:0"

  validation {
    condition     = can(regex("^[a-z0-9-]+(\\.[a-zA-Z0-9-]+)+(:[0-9]+)?(:[0-9]+k)?$", var.bedrock_model_id)) && !startswith(var.bedrock_model_id, "bedrock:")
    error_message = "bedrock_model_id: a model id such as anthropic.claude-3-5-haiku-20241022-v1:0 or an inference profile id (without the \"bedrock:\" prefix)."
  }
}

variable "approvers" {
  description = "Slack user ids allowed to approve an action (HEALER_APPROVERS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.approvers : can(regex("^[UW][A-Z0-9]{2,}$", id))])
    error_message = "approvers: Slack user ids such as U012AB3CD."
  }
}

variable "slack_channel" {
  description = "Slack channel (id or name) the approval requests go to (HEALER_SLACK_CHANNEL)."
  type        = string
  default     = ""
}

variable "approval_ttl_minutes" {
  description = "How long an approval request waits before it expires; the state machine's task timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.approval_ttl_minutes >= 1 && var.approval_ttl_minutes <= 1440 && floor(var.approval_ttl_minutes) == var.approval_ttl_minutes
    error_message = "approval_ttl_minutes: a whole number of minutes from 1 to 1440 (a day)."
  }
}

variable "verify_poll_seconds" {
  description = "Wait between two verifications of a remediated alarm (the state machine's Wait state)."
  type        = number
  default     = 15

  validation {
    condition     = var.verify_poll_seconds >= 1 && var.verify_poll_seconds <= 3600 && floor(var.verify_poll_seconds) == var.verify_poll_seconds
    error_message = "verify_poll_seconds: a whole number of seconds from 1 to 3600."
  }
}

################################################################################
# Triggers
################################################################################

variable "alarm_account_ids" {
  description = "Only alarms of these accounts start an incident; empty: any account whose alarms reach this bus."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "alarm_account_ids: 12-digit account ids."
  }
}

variable "alarm_regions" {
  description = "Only alarms of these regions start an incident; empty: no region filter."
  type        = list(string)
  default     = []
}

variable "alarm_name_prefixes" {
  description = "Only alarms whose name starts with one of these prefixes start an incident; empty: every alarm."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.alarm_name_prefixes : length(p) > 0])
    error_message = "alarm_name_prefixes: no empty prefix (an empty list means no filter)."
  }

  validation {
    # The healer's own alarms ("<name>-…") must never open an incident: it would heal itself.
    condition     = alltrue([for p in var.alarm_name_prefixes : !startswith("${var.name}-", p) && !startswith(p, "${var.name}-")])
    error_message = "alarm_name_prefixes: a prefix that matches the healer's own alarms (\"<name>-…\") would make it act on itself."
  }
}

variable "sweeper_schedule" {
  description = "EventBridge schedule expression of the sweeper (expired approvals, stuck incidents)."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.sweeper_schedule))
    error_message = "sweeper_schedule: rate(...) or cron(...)."
  }
}

################################################################################
# Step Functions
################################################################################

variable "sfn_log_level" {
  description = "Step Functions execution logging level."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.sfn_log_level)
    error_message = "sfn_log_level: ALL, ERROR or FATAL."
  }
}

variable "sfn_include_execution_data" {
  description = "Log the states' input and output. Off by default: they carry incident data (hosts, log lines)."
  type        = bool
  default     = false
}

################################################################################
# Storage
################################################################################

variable "digest_retention_days" {
  description = "Object Lock (governance mode) retention of the audit digests, in days."
  type        = number
  default     = 365

  validation {
    condition     = var.digest_retention_days >= 1 && floor(var.digest_retention_days) == var.digest_retention_days
    error_message = "digest_retention_days: a whole number of days, 1 or more."
  }
}

variable "access_log_bucket" {
  description = "An existing bucket that receives S3 server access logs of the healer's buckets; null: no access logging."
  type        = string
  default     = null
}

################################################################################
# Knowledge base
################################################################################

variable "enable_knowledge_base" {
  description = "Create the Bedrock Knowledge Base and its OpenSearch Serverless collection. Off: the agents run without runbook retrieval from Bedrock (HEALER_KB_ID unset)."
  type        = bool
  default     = true
}

variable "embedding_model_id" {
  description = "Bedrock embedding model of the knowledge base."
  type        = string
  default     = "amazon.titan-embed-text-v2:0"
}

variable "embedding_dimension" {
  description = "Output dimension of the embedding model (the vector index is created with it)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 384, 512, 1024, 1536], var.embedding_dimension)
    error_message = "embedding_dimension: 256, 384, 512, 1024 or 1536."
  }
}

variable "vector_index_name" {
  description = "Name of the vector index in the collection (HEALER_OPENSEARCH_INDEX's default)."
  type        = string
  default     = "healer-runbooks"
}

variable "create_vector_index" {
  description = "Create the vector index with `python -m knowledge_base.create_aoss_index` during apply (needs python with the project installed, and AWS credentials). Off: create it yourself before the knowledge base."
  type        = bool
  default     = true
}

variable "python_executable" {
  description = "Python that runs the vector-index creation (the project's virtual environment)."
  type        = string
  default     = "python3"
}

variable "collection_public_network" {
  description = "Let SigV4-signed requests reach the collection from anywhere (the deployer creates the index this way); false: only Bedrock reaches it."
  type        = bool
  default     = true
}

variable "collection_standby_replicas" {
  description = "Standby replicas in a second AZ for the collection (doubles its OpenSearch Compute Units). Off by default: the vectors can be rebuilt from the runbooks bucket by an ingestion job."
  type        = bool
  default     = false
}

variable "kb_admin_principal_arns" {
  description = "IAM role or user ARNs given data access to the collection besides the knowledge base and the deployer."
  type        = list(string)
  default     = []
}

################################################################################
# Remediation
################################################################################

variable "remediate_pass_role_arns" {
  description = "Instance-profile roles of the healer-managed launch templates. A rollback points an Auto Scaling group at a launch template version, and AWS then checks iam:PassRole on the template's role; empty: no PassRole."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.remediate_pass_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "remediate_pass_role_arns: IAM role ARNs."
  }
}

################################################################################
# Monitoring
################################################################################

variable "alarm_emails" {
  description = "Addresses subscribed to the healer's own alarms (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", e))])
    error_message = "alarm_emails: e-mail addresses."
  }
}

variable "generate_audit_key" {
  description = "Generate the audit HMAC key during apply (scripts/put_audit_key.py through var.python_executable; never in the state, never overwritten). Off: put the value yourself (README)."
  type        = bool
  default     = true
}

variable "grant_function_url_invoke" {
  description = "Add the lambda:InvokeFunction statement (condition lambda:InvokedViaFunctionUrl) that new function URLs need, with boto3 through var.python_executable. Off: add it yourself (README)."
  type        = bool
  default     = true
}
