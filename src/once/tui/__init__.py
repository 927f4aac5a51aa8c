"""The Textual app. Importing this package does not import textual; `once.tui.app` does."""
