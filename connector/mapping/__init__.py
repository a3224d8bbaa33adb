"""Declarative attribute mapping: HR record -> Entra ID user attributes."""
