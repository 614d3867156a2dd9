"""Downstream and intrinsic tasks on an exported biLM; each writes rows of the long results CSV."""
