# A private, encrypted bucket named after the stack, so every stack gets its own.

module "label" {
  source = "../modules/labels"

  namespace   = var.namespace
  tenant      = var.tenant
  environment = var.environment
  stage       = var.stage
  name        = var.name
  tags        = var.tags
}

resource "aws_s3_bucket" "this" {
  bucket        = module.label.id
  acl           = "private"
  force_destroy = var.force_destroy

  versioning {
    enabled = var.versioning_enabled
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "AES256"
      }
    }
  }

  tags = module.label.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
