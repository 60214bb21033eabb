# Naming and tagging shared by every component: one place decides that the
# artifacts bucket in plat-ue1-dev is called `acme-plat-ue1-dev-artifacts`.

locals {
  prefix = lower(join(var.delimiter, compact([var.namespace, var.tenant, var.environment, var.stage])))
  id     = var.name == "" ? local.prefix : lower(join(var.delimiter, [local.prefix, var.name]))

  tags = merge(
    {
      Name        = local.id
      Namespace   = var.namespace
      Tenant      = var.tenant
      Environment = var.environment
      Stage       = var.stage
      ManagedBy   = "terraform"
    },
    var.tags,
  )
}
