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

variable "name" {
  type        = string
  description = "What the bucket holds; the bucket is named namespace-tenant-environment-stage-name, unique per stack."
}

variable "versioning_enabled" {
  type        = bool
  default     = true
  description = "Keep every version of every object."
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Allow `terraform destroy` to empty a bucket that still holds objects (dev only)."
}
