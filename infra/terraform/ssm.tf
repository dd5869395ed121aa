# The catalog's Run Command documents. An approval binds the document's SHA-256 hash and the
# remediate step sends it with DocumentHash, so a document changed after approval is refused by
# SSM itself; the hashes are outputs for that reason.
resource "aws_ssm_document" "catalog" {
  for_each = local.ssm_documents

  name            = each.key
  document_type   = "Command"
  document_format = "YAML"
  content         = file(each.value)
}
