# Two entry points: `make demo` (set up, then build the exam 2 PDFs) and `make test`.
# Both install what is missing: TeX and poppler via apt-get (when root), Python packages in .venv.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_PKGS := texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures \
            texlive-fonts-recommended cm-super-minimal latexmk lmodern poppler-utils \
            bubblewrap chromium nodejs

.PHONY: demo test lint bench tex setup clean

demo: setup tex
	$(BIN)/nnreport build problems/exam2.yaml
	@echo "PDFs are in output/exam2/"

test: setup tex
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check nnreport tests bench
	$(BIN)/mypy nnreport

bench: setup tex
	$(BIN)/python bench/run.py

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# PyTorch, test-only (tests/test_torch_oracle.py): the CPU wheel these machines keep on
	# disk, never a download of a CUDA build; without it those tests skip
	for w in /opt/wheels/torch-*+cpu-cp311-*.whl; do \
	  if [ -f "$$w" ]; then $(BIN)/pip install -q "$$w"; else echo "no local torch wheel: the PyTorch oracle tests skip"; fi; done
	touch $(STAMP)

# TeX (and bubblewrap, its sandbox) come from Debian's packages; skipped when already there.
# latexmk is only the bench's reference (nnreport runs pdflatex itself). Node.js renders the
# HTML pages' math with the vendored KaTeX; Chromium is only for the HTML tests.
tex:
	@if ! command -v pdflatex >/dev/null || ! command -v pdftotext >/dev/null || ! command -v bwrap >/dev/null \
	    || ! command -v chromium >/dev/null || ! command -v node >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PKGS); \
	  elif ! command -v pdflatex >/dev/null || ! command -v pdftotext >/dev/null; then \
	    echo "TeX missing: sudo apt-get install $(APT_PKGS)"; exit 3; \
	  else \
	    echo "note: bubblewrap missing (sudo apt-get install bubblewrap): TeX runs without its filesystem sandbox"; \
	  fi; \
	fi

clean:
	rm -rf output/* build .pytest_cache
