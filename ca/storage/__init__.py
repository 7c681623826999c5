"""Storage: the only package that imports SQLAlchemy. Callers hold a ``Session`` only as a handle."""

from sqlalchemy.orm import Session

__all__ = ["Session"]
