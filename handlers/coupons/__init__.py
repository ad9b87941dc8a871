"""The coupons feature."""
