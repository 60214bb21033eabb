output "topic_arn" {
  value       = aws_sns_topic.this.arn
  description = "Publish here."
}

output "subscription_arn" {
  value       = aws_sns_topic_subscription.queue.arn
  description = "The topic-to-queue subscription."
}
