variable "namespace" {
  type        = string
  description = "Organization short name (set once in orgs/acme/_defaults.yaml)."
}

variable "tenant" {
  type        = string
  description = "Team that owns the stack (orgs/acme/plat/_defaults.yaml)."
}

variable "environment" {
  type        = string
  description = "Short region code (mixins/region/*.yaml)."
}

variable "stage" {
  type        = string
  description = "dev, staging or prod (orgs/acme/plat/<stage>/_defaults.yaml)."
}

variable "region" {
  type        = string
  description = "AWS region of the stack (mixins/region/*.yaml); the provider region comes from the stack too."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags for every resource."
}

variable "vpc_id" {
  type        = string
  description = "VPC the group belongs to (`!terraform.output vpc vpc_id`)."
}

variable "allowed_cidr_blocks" {
  type        = list(string)
  description = "Sources allowed in: the private subnets (`!terraform.output subnets subnet_cidr_blocks`)."
}

variable "ingress_ports" {
  type        = list(number)
  default     = [443]
  description = "TCP ports opened to `allowed_cidr_blocks`."
}
