# One private subnet per availability zone, numbered from the start of the VPC range.

module "label" {
  source = "../modules/labels"

  namespace   = var.namespace
  tenant      = var.tenant
  environment = var.environment
  stage       = var.stage
  name        = "private"
  tags        = var.tags
}

resource "aws_subnet" "private" {
  count = length(var.availability_zones)

  vpc_id            = var.vpc_id
  cidr_block        = cidrsubnet(var.vpc_cidr_block, var.newbits, count.index)
  availability_zone = var.availability_zones[count.index]

  tags = merge(module.label.tags, {
    Name = "${module.label.id}-${var.availability_zones[count.index]}"
    Tier = "private"
  })
}
