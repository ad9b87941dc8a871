"""活跃之星 (issue 17): a weekly title per group from orders, 晒单 and leaders' helpful marks,
announced in the group and paid in points once per (member, group, week)."""
