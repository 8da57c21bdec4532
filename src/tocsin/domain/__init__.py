"""Pure rules: no I/O, no database, no clock of their own."""
