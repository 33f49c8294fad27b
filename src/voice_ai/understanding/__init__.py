"""Understanding callers despite recognition errors: the tenant's lexicon, sound-alike matching, transcript
repair (see docs/understanding.md)."""
