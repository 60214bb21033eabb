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

variable "cidr_block" {
  type        = string
  description = "IPv4 range of the VPC; each stack gets its own so they can be peered later."
}

variable "enable_dns_hostnames" {
  type        = bool
  default     = true
  description = "Give instances public DNS hostnames."
}
