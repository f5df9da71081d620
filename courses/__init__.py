"""The cross-ministry catalog: ministries, programmes, providers, courses and runs."""
