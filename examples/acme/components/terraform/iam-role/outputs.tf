output "role_name" {
  value       = aws_iam_role.this.name
  description = "Name of the worker role."
}

output "role_arn" {
  value       = aws_iam_role.this.arn
  description = "Give this to the task definition that runs the worker."
}
