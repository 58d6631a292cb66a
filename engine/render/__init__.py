"""Rendering for people and programs: sandboxed templates, terminal, text, Markdown, JSON."""
