"""One FastAPI router per page of the Chimera app."""
