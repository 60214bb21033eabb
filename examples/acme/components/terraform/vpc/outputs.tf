output "vpc_id" {
  value       = aws_vpc.this.id
  description = "Read by subnets and security-group with `!terraform.output vpc vpc_id`."
}

output "vpc_cidr_block" {
  value       = aws_vpc.this.cidr_block
  description = "The subnets are carved out of this range."
}
