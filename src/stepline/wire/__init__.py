"""Pydantic models of the TCA JSON shapes. No logic beyond shape and field validation."""
