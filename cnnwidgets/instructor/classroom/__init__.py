"""The class around grading: the exchange, the roster, feedback, exports and reports.

- ``exchange``: release, due dates and feedback through nbgrader's exchange; collect
  keeps only hand-ins it can trust.
- ``privacy``: what students must never read (solutions/, the gradebook, hand-ins),
  checked before a class command runs.
- ``roster``: students imported from a CSV file.
- ``feedback``: feedback pages, hidden tests left out.
- ``export``: grades to a CSV file: nbgrader's columns, Canvas's or Moodle's import.
- ``report``: one HTML page of charts per assignment.
"""
