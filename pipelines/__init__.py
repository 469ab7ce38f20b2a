"""Engines, Ray execution, the CLI and run orchestration. Heavy modules are imported lazily."""
