"""Reading a prepared corpus for LM training: the prepared-corpus reader, the token streams, the held-out
rows, the LightningDataModule."""
