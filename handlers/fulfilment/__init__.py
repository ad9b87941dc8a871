"""After the 接龙: pickup codes, clerks and 核销, what each member owes, payments, reminders, lists."""
