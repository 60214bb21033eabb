output "subnet_ids" {
  value       = aws_subnet.private[*].id
  description = "In the order of `availability_zones`."
}

output "subnet_cidr_blocks" {
  value       = aws_subnet.private[*].cidr_block
  description = "Read by security-group to allow traffic from inside the subnets."
}

output "availability_zones" {
  value       = aws_subnet.private[*].availability_zone
  description = "Zone of each subnet."
}
