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
  description = "What the queue carries, e.g. `events`."
}

variable "visibility_timeout_seconds" {
  type        = number
  default     = 30
  description = "How long a received message stays hidden from other consumers."
}

variable "message_retention_seconds" {
  type        = number
  default     = 345600
  description = "How long an unread message is kept (4 days by default)."
}

