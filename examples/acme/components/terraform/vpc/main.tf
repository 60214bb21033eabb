# One VPC per stack; subnets and security-group build inside it.

module "label" {
  source = "../modules/labels"

  namespace   = var.namespace
  tenant      = var.tenant
  environment = var.environment
  stage       = var.stage
  name        = "vpc"
  tags        = var.tags
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = var.enable_dns_hostnames

  tags = module.label.tags
}
