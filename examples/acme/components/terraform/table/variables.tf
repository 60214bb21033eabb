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
  description = "What the table stores, e.g. `sessions`."
}

variable "hash_key" {
  type        = string
  default     = "id"
  description = "Partition key attribute."
}

variable "hash_key_type" {
  type        = string
  default     = "S"
  description = "Type of the partition key: S, N or B."
}

variable "billing_mode" {
  type        = string
  default     = "PAY_PER_REQUEST"
  description = "PAY_PER_REQUEST or PROVISIONED."
}

variable "read_capacity" {
  type        = number
  default     = 0
  description = "Read capacity units, PROVISIONED only."
}

variable "write_capacity" {
  type        = number
  default     = 0
  description = "Write capacity units, PROVISIONED only."
}

variable "ttl_attribute" {
  type        = string
  default     = ""
  description = "Attribute holding each item's expiry time (epoch seconds); empty for no expiry."
}
