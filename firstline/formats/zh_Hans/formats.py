"""Simplified Chinese input formats with ISO dates first.

Django's zh_Hans formats start with ``%Y/%m/%d``: a date field rendered for ``<input type="date">`` then carries a
value the browser rejects, and the field shows empty (an edited record would lose its date). Date inputs exchange
ISO dates whatever the language, so ISO comes first; the other Chinese forms are still accepted when typed.
"""

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2016-10-25' (what <input type="date"> sends and expects)
    "%Y/%m/%d",  # '2016/10/25'
    "%Y年%n月%j日",  # '2016年10月25日'
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",  # '2016-10-25T14:30' (<input type="datetime-local">)
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y年%n月%j日 %H:%M",
    "%Y年%n月%j日 %H:%M:%S",
    "%Y年%n月%j日 %H:%M:%S.%f",
]
