"""Vigie: the scheduled vigil over an institution's approved social-media spaces."""

__version__ = "0.1.0"
