"""Stepline: a self-hosted workflow service that speaks the TCA workflow API."""

__version__ = "0.1.0"
