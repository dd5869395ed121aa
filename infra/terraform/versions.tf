terraform {
  # 1.9: validations that refer to other variables; terraform test with mock providers.
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}
