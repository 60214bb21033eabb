# The application security group: TCP in from the private subnets only, all traffic out.

module "label" {
  source = "../modules/labels"

  namespace   = var.namespace
  tenant      = var.tenant
  environment = var.environment
  stage       = var.stage
  name        = "app"
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name        = module.label.id
  description = "App traffic from the private subnets of ${module.label.prefix}"
  vpc_id      = var.vpc_id

  dynamic "ingress" {
    for_each = var.ingress_ports
    content {
      description = "TCP ${ingress.value} from the private subnets"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = var.allowed_cidr_blocks
    }
  }

  egress {
    description = "All traffic out"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = module.label.tags
}
