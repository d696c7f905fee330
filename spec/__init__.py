"""The TLA+ specifications (data, installed with faultlab so the checker finds them)."""
