"""The knowledge base: rule language, compiler, layered loading, cache and the checks across rules."""
