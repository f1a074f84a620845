"""From a question to an Answer: language, dates, ranked lists, fusion, grouping, highlight,
abstention."""
