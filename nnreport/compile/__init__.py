"""Stage 5: .tex -> .pdf with pdflatex, sandboxed (sandbox.py), checked (pdfcheck.py)."""

from .sandbox import sandbox_kind, stop_all
from .tex import INSTALL_HINT, CompileResult, compile_tex, tex_available

__all__ = ["INSTALL_HINT", "CompileResult", "compile_tex", "sandbox_kind", "stop_all", "tex_available"]
