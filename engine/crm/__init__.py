"""CRM importers: exports (CSV) in, deals out, through one mapping mechanism (see :mod:`.mapping`)."""
