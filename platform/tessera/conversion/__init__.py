"""Conversions: a record becomes others in one transaction (a lead → account, contact, opportunity)."""
from .service import ConversionService, NotConvertible

__all__ = ["ConversionService", "NotConvertible"]
