"""Recording: SQLite files that survive a crash, and reading them back. Qt-free."""
