"""Domain-event subscribers of the licenses app (filled in once the cases app publishes)."""
