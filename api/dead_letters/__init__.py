"""Dead letters: messages ingest could not accept, kept with the reason for operators."""
