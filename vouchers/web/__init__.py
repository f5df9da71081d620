"""The voucher domain on the web: HTML views, the JSON API, forms, and the read models they show."""
