# session pages
