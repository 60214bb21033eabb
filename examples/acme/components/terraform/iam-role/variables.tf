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
  description = "What runs with the role, e.g. `worker`."
}

variable "trusted_service" {
  type        = string
  default     = "ecs-tasks.amazonaws.com"
  description = "AWS service allowed to assume the role."
}

variable "queue_arn" {
  type        = string
  description = "Queue the role consumes (`!terraform.output queue queue_arn`)."
}

variable "bucket_arn" {
  type        = string
  description = "Bucket the role reads and writes (`!terraform.output bucket bucket_arn`)."
}
