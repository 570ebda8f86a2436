"""What each page shows, read from the registry: Pydantic models and a bounded number of queries per page."""
