"""Articles from text: plain-text layout, front matter, web pages, dates, clean-up."""
