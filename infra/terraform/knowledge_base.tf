# The Bedrock Knowledge Base over the runbooks: an OpenSearch Serverless VECTORSEARCH collection
# holds the vectors, the runbooks bucket is its data source. The index uses the field names of
# knowledge_base/opensearch.py, so the direct OpenSearch retriever can read the same index.

locals {
  kb_count = var.enable_knowledge_base ? 1 : 0

  embedding_model_arn = "arn:${local.partition}:bedrock:${local.region}::foundation-model/${var.embedding_model_id}"

  # knowledge_base/opensearch.py VECTOR_FIELD, TEXT_FIELD, METADATA_FIELD.
  kb_field_mapping = {
    vector_field   = "bedrock-knowledge-base-default-vector"
    text_field     = "AMAZON_BEDROCK_TEXT_CHUNK"
    metadata_field = "AMAZON_BEDROCK_METADATA"
  }

  # The deployer creates the index; data access names roles, not their STS sessions.
  deployer_arn = data.aws_iam_session_context.current.issuer_arn
}

resource "aws_opensearchserverless_security_policy" "encryption" {
  count = local.kb_count

  name        = "${var.name}-kb-enc"
  type        = "encryption"
  description = "The runbook vectors under the healer's key"
  policy = jsonencode({
    Rules = [
      { ResourceType = "collection", Resource = ["collection/${local.names.collection}"] },
    ]
    AWSOwnedKey = false
    KmsARN      = local.kms_key_arn
  })
}

resource "aws_opensearchserverless_security_policy" "network" {
  count = local.kb_count

  name        = "${var.name}-kb-net"
  type        = "network"
  description = "Collection endpoint reachable for SigV4-signed calls; no dashboards"
  # Public network access is what lets the deployer's machine create the index; every request
  # is still signed and judged by the data access policy. With collection_public_network = false
  # only Bedrock reaches the collection (create the index from inside AWS then).
  policy = jsonencode([
    merge(
      {
        Rules = [
          { ResourceType = "collection", Resource = ["collection/${local.names.collection}"] },
        ]
      },
      {
        public  = { AllowFromPublic = true }
        bedrock = { AllowFromPublic = false, SourceServices = ["bedrock.amazonaws.com"] }
      }[var.collection_public_network ? "public" : "bedrock"],
    )
  ])
}

resource "aws_opensearchserverless_access_policy" "this" {
  count = local.kb_count

  name        = "${var.name}-kb-data"
  type        = "data"
  description = "The knowledge base reads and writes documents; the deployer and admins manage the index"
  policy = jsonencode([
    {
      Description = "Bedrock Knowledge Base role"
      Principal   = [aws_iam_role.knowledge_base[0].arn]
      Rules = [
        {
          ResourceType = "collection"
          Resource     = ["collection/${local.names.collection}"]
          Permission   = ["aoss:DescribeCollectionItems", "aoss:CreateCollectionItems", "aoss:UpdateCollectionItems"]
        },
        {
          ResourceType = "index"
          Resource     = ["index/${local.names.collection}/*"]
          Permission   = ["aoss:DescribeIndex", "aoss:ReadDocument", "aoss:WriteDocument", "aoss:UpdateIndex"]
        },
      ]
    },
    {
      Description = "Deployer and administrators"
      Principal   = distinct(concat([local.deployer_arn], var.kb_admin_principal_arns))
      Rules = [
        {
          ResourceType = "collection"
          Resource     = ["collection/${local.names.collection}"]
          Permission   = ["aoss:DescribeCollectionItems", "aoss:CreateCollectionItems", "aoss:UpdateCollectionItems", "aoss:DeleteCollectionItems"]
        },
        {
          ResourceType = "index"
          Resource     = ["index/${local.names.collection}/*"]
          Permission   = ["aoss:CreateIndex", "aoss:DeleteIndex", "aoss:UpdateIndex", "aoss:DescribeIndex", "aoss:ReadDocument", "aoss:WriteDocument"]
        },
      ]
    },
  ])
}

resource "aws_opensearchserverless_collection" "this" {
  count = local.kb_count

  name             = local.names.collection
  type             = "VECTORSEARCH"
  description      = "Runbook vectors of ${var.name}'s knowledge base"
  standby_replicas = var.collection_standby_replicas ? "ENABLED" : "DISABLED"

  depends_on = [
    aws_opensearchserverless_security_policy.encryption,
    aws_opensearchserverless_security_policy.network,
  ]
}

# The AWS provider 5.x has no OpenSearch Serverless index resource and the opensearch provider
# is not available offline, so the index is created by the project's own code
# (knowledge_base/opensearch.py `index_body`), signed with the deployer's credentials.
resource "terraform_data" "vector_index" {
  count = var.enable_knowledge_base && var.create_vector_index ? 1 : 0

  triggers_replace = [
    aws_opensearchserverless_collection.this[0].id,
    var.vector_index_name,
    var.embedding_dimension,
  ]

  provisioner "local-exec" {
    working_dir = "${path.module}/../.."
    command     = "${var.python_executable} -m knowledge_base.create_aoss_index --endpoint ${aws_opensearchserverless_collection.this[0].collection_endpoint} --index ${var.vector_index_name} --dimension ${var.embedding_dimension} --region ${local.region}"
  }

  depends_on = [aws_opensearchserverless_access_policy.this]
}

resource "aws_bedrockagent_knowledge_base" "this" {
  count = local.kb_count

  name        = "${var.name}-runbooks"
  description = "Runbooks of ${var.name}: symptoms, actions, how to confirm, fix, roll back, escalate"
  role_arn    = aws_iam_role.knowledge_base[0].arn

  knowledge_base_configuration {
    type = "VECTOR"
    vector_knowledge_base_configuration {
      embedding_model_arn = local.embedding_model_arn
      embedding_model_configuration {
        bedrock_embedding_model_configuration {
          dimensions          = var.embedding_dimension
          embedding_data_type = "FLOAT32"
        }
      }
    }
  }

  storage_configuration {
    type = "OPENSEARCH_SERVERLESS"
    opensearch_serverless_configuration {
      collection_arn    = aws_opensearchserverless_collection.this[0].arn
      vector_index_name = var.vector_index_name
      field_mapping {
        vector_field   = local.kb_field_mapping.vector_field
        text_field     = local.kb_field_mapping.text_field
        metadata_field = local.kb_field_mapping.metadata_field
      }
    }
  }

  depends_on = [terraform_data.vector_index, aws_iam_role_policy.knowledge_base]
}

resource "aws_bedrockagent_data_source" "runbooks" {
  count = local.kb_count

  knowledge_base_id    = aws_bedrockagent_knowledge_base.this[0].id
  name                 = "runbooks"
  description          = "runbooks/*.md and their .metadata.json sidecars"
  data_deletion_policy = "DELETE"

  data_source_configuration {
    type = "S3"
    s3_configuration {
      bucket_arn         = module.runbooks_bucket.arn
      inclusion_prefixes = [local.runbooks_prefix]
    }
  }
}
