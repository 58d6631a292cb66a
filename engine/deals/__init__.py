"""The deal: its validated model, vocabulary, facts for the engine, schema, reference and intake."""
