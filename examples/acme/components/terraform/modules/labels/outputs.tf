output "prefix" {
  value       = local.prefix
  description = "namespace-tenant-environment-stage, e.g. `acme-plat-ue1-dev`."
}

output "id" {
  value       = local.id
  description = "The prefix followed by the name, e.g. `acme-plat-ue1-dev-artifacts`."
}

output "tags" {
  value       = local.tags
  description = "Tags for every resource: Name, Namespace, Tenant, Environment, Stage, ManagedBy and the extra tags."
}
