"""The fake-order guard (刷单): padded-sales patterns told privately to the admins."""
