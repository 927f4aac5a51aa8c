"""Safety checks that tools and the store call: path confinement and redaction."""
