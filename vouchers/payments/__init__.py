"""Payments of the self-pay share: gateway and backends, attempts, webhooks, reconciliation (models, operations,
jobs)."""
