"""前N名下单赠礼 (first-N gifts): the campaign's `gifts:` section gives a gift to the first N
members whose orders commit, across every group and process; docs/growth.md says how."""
