"""Stage 4: solutions -> LaTeX source, through Jinja templates in nnreport/templates/."""
