# A topic that fans out into the queue: the topic, the queue policy that lets it
# deliver, and the subscription.

module "label" {
  source = "../modules/labels"

  namespace   = var.namespace
  tenant      = var.tenant
  environment = var.environment
  stage       = var.stage
  name        = var.name
  tags        = var.tags
}

resource "aws_sns_topic" "this" {
  name = module.label.id

  tags = module.label.tags
}

resource "aws_sqs_queue_policy" "from_topic" {
  queue_url = var.queue_url

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowTopicToSend"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = var.queue_arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.this.arn } }
    }]
  })
}

resource "aws_sns_topic_subscription" "queue" {
  topic_arn            = aws_sns_topic.this.arn
  protocol             = "sqs"
  endpoint             = var.queue_arn
  raw_message_delivery = var.raw_message_delivery

  depends_on = [aws_sqs_queue_policy.from_topic]
}
