"""Storage: the only package that imports SQLAlchemy. Callers hold a unit of work only as a handle."""

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

#: A unit of work: an ORM session (general use) or a Core connection (hot paths).
Transaction = Session | Connection

__all__ = ["Connection", "Session", "Transaction"]
