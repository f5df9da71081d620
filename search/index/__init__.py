"""The search index's lifecycle, in one room: what a document holds (schema), where the index lives and how
a new one is swapped in (store), the open versions a process reads with their numpy columns (versions), and
building and updating it from the catalog. Nothing outside search/ imports this package; search.query and
its helpers read through `versions`, the outbox listener (search.indexer) writes through the builder.
"""
