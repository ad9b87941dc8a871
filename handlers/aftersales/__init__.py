"""After-sales tickets: complaints, the leader's answer, escalation at 2 h and 24 h, ratings, figures."""
