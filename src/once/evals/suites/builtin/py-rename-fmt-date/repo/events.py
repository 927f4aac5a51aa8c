"""Events with a title and a date."""

from utils import fmt_date


class Event:
    def __init__(self, title, year, month, day):
        self.title = title
        self.date = (year, month, day)

    def label(self):
        return f"{fmt_date(*self.date)} {self.title}"
