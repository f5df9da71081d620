"""Enrolments: the state machine, enrolling and confirming, refunds, attendance and settlement (models, operations,
jobs)."""
