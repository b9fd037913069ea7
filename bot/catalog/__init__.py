"""The service catalogue: content schema, database models, loader and queries."""
