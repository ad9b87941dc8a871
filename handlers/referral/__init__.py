"""推荐有礼 (referral): docs/growth.md."""
