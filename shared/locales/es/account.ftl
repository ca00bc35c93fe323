# account pages
