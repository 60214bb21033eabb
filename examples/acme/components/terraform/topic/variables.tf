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
  description = "What the topic announces, e.g. `events`."
}

variable "queue_arn" {
  type        = string
  description = "Queue subscribed to the topic (`!terraform.output queue queue_arn`)."
}

variable "queue_url" {
  type        = string
  description = "URL of that queue, to attach its policy (`!terraform.output queue queue_url`)."
}

variable "raw_message_delivery" {
  type        = bool
  default     = true
  description = "Deliver the message body as published, without the SNS envelope."
}
