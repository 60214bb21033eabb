output "queue_arn" {
  value       = aws_sqs_queue.this.arn
  description = "Read by topic (subscription) and iam-role (policy)."
}

output "queue_url" {
  value       = aws_sqs_queue.this.id
  description = "Read by topic to attach the queue policy that lets the topic deliver."
}

output "queue_name" {
  value       = aws_sqs_queue.this.name
  description = "Name of the work queue."
}

