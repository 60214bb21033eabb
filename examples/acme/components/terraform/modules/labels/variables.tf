variable "namespace" {
  type        = string
  description = "Organization short name, e.g. `acme`."
}

variable "tenant" {
  type        = string
  description = "Team or business unit that owns the resources, e.g. `plat`."
}

variable "environment" {
  type        = string
  description = "Short region code, e.g. `ue1` for us-east-1."
}

variable "stage" {
  type        = string
  description = "Lifecycle stage: `dev`, `staging` or `prod`."
}

variable "name" {
  type        = string
  default     = ""
  description = "What the resource is, appended to the prefix, e.g. `events`. Empty for the prefix alone."
}

variable "delimiter" {
  type        = string
  default     = "-"
  description = "Joins the name parts."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags, merged over the computed ones."
}
