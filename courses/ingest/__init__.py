"""Feed importers: one parser module per format, all producing FeedRecord/Rejection for one importer."""
