"""Korean full-text search over the catalog (reads courses, never the reverse)."""
