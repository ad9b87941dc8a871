"""Engagement: welcomes, keyword coupons, red-packet rain and FAQ answers.

The handlers live in `handlers/welcome.py`, `handlers/coupons.py`,
`handlers/redpacket.py` and `handlers/faq.py`; this package holds what they
share and what can be tested without a chat: storage, coupon codes, the
red-packet split, the FAQ matcher and the coupon wallet used by pricing.
"""
