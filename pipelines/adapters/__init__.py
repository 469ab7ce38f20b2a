"""Adapters that plug prm-factory pieces into other frameworks (imported lazily; nothing heavy at import)."""
