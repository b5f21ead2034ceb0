"""The class around grading: the exchange, the roster, feedback, exports and reports.

- ``exchange``: release, due dates, collect and feedback through nbgrader's exchange.
- ``roster``: students imported from a CSV file.
- ``feedback``: feedback pages, hidden tests left out.
- ``export``: grades to a CSV file.
- ``report``: one HTML page of charts per assignment.
"""
