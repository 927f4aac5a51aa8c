"""Events with a title and a date."""

from utils import format_iso_date


class Event:
    def __init__(self, title, year, month, day):
        self.title = title
        self.date = (year, month, day)

    def label(self):
        return f"{format_iso_date(*self.date)} {self.title}"
