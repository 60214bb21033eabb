# A work queue. (No dead-letter queue here: provider 3.39 cannot suppress the whitespace that
# moto adds to a redrive policy, so the example would never plan clean on the test bed.)

module "label" {
  source = "../modules/labels"

  namespace   = var.namespace
  tenant      = var.tenant
  environment = var.environment
  stage       = var.stage
  name        = var.name
  tags        = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = module.label.id
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds

  tags = module.label.tags
}
