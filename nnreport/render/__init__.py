"""Stage 3: numbers and formulas -> LaTeX strings. Knows nothing of documents or TeX runs."""
