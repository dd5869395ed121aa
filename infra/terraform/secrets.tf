# Slack's signing secret and tokens: JSON {"signing_secret", "bot_token", "app_token"}. Terraform
# creates the secret empty and never holds the value (README: put-secret-value).
resource "aws_secretsmanager_secret" "slack" {
  #checkov:skip=CKV2_AWS_57:Slack issues the tokens; rotation is done in the Slack app, then put-secret-value (README).
  name        = "${var.name}/slack"
  description = "Slack app credentials of ${var.name}: signing_secret, bot_token, app_token"
  kms_key_id  = local.kms_key_arn

  recovery_window_in_days = 7
}

# The audit log's HMAC key: whoever holds it can rewrite the chain, so only the healer's roles
# read it and the Terraform state never contains it.
resource "aws_secretsmanager_secret" "audit_key" {
  #checkov:skip=CKV2_AWS_57:A rotated key would orphan every existing chain link and digest; key changes are a deliberate re-keying, not a schedule.
  name        = "${var.name}/audit-key"
  description = "HMAC key of ${var.name}'s audit chain"
  kms_key_id  = local.kms_key_arn

  recovery_window_in_days = 30
}

# Generated on the deployer's machine and put straight into Secrets Manager, only while the
# secret has no value: the key never enters the plan or the state. (An ephemeral
# aws_secretsmanager_random_password with secret_string_wo would do the same in Terraform, but
# `terraform test` cannot mock ephemeral resources yet.)
resource "terraform_data" "audit_key" {
  count = var.generate_audit_key ? 1 : 0

  triggers_replace = [aws_secretsmanager_secret.audit_key.arn]

  provisioner "local-exec" {
    command = "${var.python_executable} ${path.module}/scripts/put_audit_key.py --secret ${aws_secretsmanager_secret.audit_key.arn} --region ${local.region}"
  }
}
