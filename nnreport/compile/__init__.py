"""Stage 5: .tex -> .pdf with latexmk, sandboxed."""

from .latexmk import CompileResult, compile_tex, tex_available

__all__ = ["CompileResult", "compile_tex", "tex_available"]
