"""Data sources: the plugin contract and the built-in sources. Qt-free."""
