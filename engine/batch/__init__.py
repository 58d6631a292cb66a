"""Running many deals in one call: worker processes, ordered streaming results (see :mod:`.pool`)."""
