output "table_name" {
  value       = aws_dynamodb_table.this.name
  description = "Name of the table."
}

output "table_arn" {
  value       = aws_dynamodb_table.this.arn
  description = "ARN of the table."
}
