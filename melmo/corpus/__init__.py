"""Corpus preparation: sources, tokenization (UDPipe), sampling selection and the prepared corpus on disk."""
