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
  description = "VPC to create the subnets in (`!terraform.output vpc vpc_id`)."
}

variable "vpc_cidr_block" {
  type        = string
  description = "Range of that VPC (`!terraform.output vpc vpc_cidr_block`)."
}

variable "availability_zones" {
  type        = list(string)
  description = "One private subnet per zone (mixins/region/*.yaml)."
}

variable "newbits" {
  type        = number
  default     = 8
  description = "Bits added to the VPC prefix for each subnet: a /16 VPC gives /24 subnets."
}
