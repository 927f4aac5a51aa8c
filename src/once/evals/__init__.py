"""`agent eval`: task suites with checks, run against any model, compared between arms,
and back-tested against their recordings. Kept light: the package imports nothing here."""
