"""The ministry audit console's room: where the voucher money went, whether it was earned, what looks wrong.

    models.py    pre-aggregated spend per run and month, its watermark, risk flags
    spend.py     attributing every ledger transfer to an enrolment's run, and reading spend by any grouping
    drill.py     from a number to the rows behind it: runs, enrolments, ledger entries, audit-log rows
    exports.py   every table to CSV and XLSX, streamed, with formula neutralisation
    rules.py     the named risk rules (thresholds in vouchers/data/audit_rules.toml) and flag upkeep
    outcomes.py  completion, dropout and employment beside the money, with small cells suppressed
    scope.py     which ministry a reader may see

It reads the ledger, cards, enrolments and the catalog; nothing below it imports it.
"""
