"""Print the report for this week's quiz."""

from scores import report

ROWS = [("ana", [90, 85, 77]), ("ben", [60, 70])]

if __name__ == "__main__":
    print(report(ROWS))
