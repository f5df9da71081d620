"""Ratings from completers: who may rate, the summary per run and per course, replies and hiding."""
