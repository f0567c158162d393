"""The knowledge base: the files staff edit, loaded, checked and reloaded live."""
