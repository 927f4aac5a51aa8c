"""The project's single exception type."""


class AppError(Exception):
    """Raised for every error that library code reports."""
