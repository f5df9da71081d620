"""Cards and the people who hold them: identity, identity review, rules, quote, cards (models, operations, jobs)."""
